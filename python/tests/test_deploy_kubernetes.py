"""deploy/: the Kubernetes files, the Prometheus Adapter rule and the Grafana dashboard, judged by software
nobody here wrote, and held to what sigop serve really has.

- kustomize (the Go module proxy; SIGOP_KUSTOMIZE) renders the base and the production overlay;
- kubernetes-validate (PyPI) checks every built-in object strictly (an unknown field fails) against the schemas
  of Kubernetes 1.27 (gRPC probes became GA) and 1.37;
- the ServiceMonitor is checked, strictly too, against the Prometheus Operator's own CRD schema (from its Go
  module; SIGOP_PROMETHEUS_OPERATOR); KServe's containers, as core/v1 Containers (no registry here serves
  KServe's CRDs);
- promtool (Prometheus, from the Go module proxy; SIGOP_PROMTOOL) parses every PromQL expression the dashboard
  and the adapter rule hold, and lints the server's /metrics;
- every flag the manifests pass is in `sigop serve --help`, and every metric the autoscaler, the adapter rule and
  the dashboard name is one a running server exports.

What this does not prove: that a cluster admits the objects (admission webhooks, quotas, Pod Security level),
that the adapter serves the metric, or that Grafana draws the panels; no cluster runs here. make test sets the
three tools' variables; run by hand without them, the tests that need one are skipped, saying so.
"""

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import grpc
import jsonschema
import kubernetes_validate
import numpy as np
import pytest
import yaml

from sigop.cli import build_parser
from sigop.operator.v1 import operator_pb2 as pb
from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
from sigop.serving.server import Server, ServerConfig

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
KUBERNETES_VERSIONS = ("1.27.0", "1.37.0")
SERVICES = ("", "sigop.operator.v1.Operator", "inference.GRPCInferenceService")  # what health reports on
KUSTOMIZE = os.environ.get("SIGOP_KUSTOMIZE")
PROMETHEUS_OPERATOR = os.environ.get("SIGOP_PROMETHEUS_OPERATOR")
PROMTOOL = os.environ.get("SIGOP_PROMTOOL")


def need(tool, name):
    return pytest.mark.skipif(not tool, reason=f"{name} is not set; make test-python sets it")


@pytest.fixture(scope="module")
def rendered():
    if not KUSTOMIZE:
        pytest.skip("SIGOP_KUSTOMIZE is not set; make test-python sets it")
    out = {}
    for name in ("base", "overlays/production"):
        run = subprocess.run([KUSTOMIZE, "build", str(KUBERNETES / name)], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        out[name] = [d for d in yaml.safe_load_all(run.stdout) if d]
    return out


def only(docs, kind):
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, (kind, [d["kind"] for d in docs])
    return found[0]


def serve_args(container):
    args = container.get("args", [])
    if container.get("command"):  # KServe's runtime names the entrypoint itself
        assert container["command"] == ["sigop"]
    assert args[0] == "serve"
    return [a.replace("{{.Name}}", "article") for a in args]


def flag_names(args):
    return [a.split("=", 1)[0] for a in args if a.startswith("--")]


def port_of(address):
    return int(address.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def kserve_containers():
    runtime = yaml.safe_load((DEPLOY / "kserve" / "cluster-serving-runtime.yaml").read_text())
    return runtime["spec"]["containers"]


# ---- schemas ------------------------------------------------------------------------------------------------

def test_kustomize_output_passes_kubernetes_schemas_strictly(rendered):
    kinds = {name: sorted(d["kind"] for d in docs) for name, docs in rendered.items()}
    assert kinds == {"base": ["Deployment", "PodDisruptionBudget", "Service"],
                     "overlays/production": ["Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                                             "Service", "ServiceMonitor"]}
    for docs in rendered.values():
        for doc in docs:
            if doc["kind"] == "ServiceMonitor":
                continue  # a CRD: its own schema, below
            for version in KUBERNETES_VERSIONS:
                kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_refuses_what_a_cluster_would(rendered):
    """The judge is not lenient: an unknown field and a port given as a string fail."""
    deployment = only(rendered["base"], "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    for broken in ({**container, "resourcs": {}}, {**container, "ports": [{"containerPort": "50051"}]}):
        bad = json.loads(json.dumps(deployment))
        bad["spec"]["template"]["spec"]["containers"][0] = broken
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(bad, KUBERNETES_VERSIONS[0], strict=True)


def strict(schema):
    """A CRD's OpenAPI schema as JSON Schema that refuses unknown fields, as kubeconform's strict mode makes it."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema.setdefault("additionalProperties", False)
        return schema
    return [strict(s) for s in schema] if isinstance(schema, list) else schema


@need(PROMETHEUS_OPERATOR, "SIGOP_PROMETHEUS_OPERATOR")
def test_service_monitor_passes_the_prometheus_operator_crd(rendered):
    crd = yaml.safe_load((Path(PROMETHEUS_OPERATOR) / "example" / "prometheus-operator-crd" /
                          "monitoring.coreos.com_servicemonitors.yaml").read_text())
    monitor = only(rendered["overlays/production"], "ServiceMonitor")
    version = next(v for v in crd["spec"]["versions"] if f'{crd["spec"]["group"]}/{v["name"]}' == monitor["apiVersion"])
    validator = jsonschema.Draft7Validator(strict(version["schema"]["openAPIV3Schema"]))
    validator.validate(monitor)
    typo = json.loads(json.dumps(monitor))
    typo["spec"]["endpoints"][0]["prot"] = typo["spec"]["endpoints"][0].pop("port")
    assert not validator.is_valid(typo)


def test_kserve_containers_are_valid_kubernetes_containers(kserve_containers):
    for container in kserve_containers:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {"containers": [container]}}
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(pod, version, strict=True)


# ---- the manifests against sigop serve ----------------------------------------------------------------------

def test_every_flag_the_manifests_pass_is_in_sigop_serve_help(rendered, kserve_containers):
    run = subprocess.run([str(Path(sys.executable).with_name("sigop")), "serve", "--help"], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0
    offered = set(re.findall(r"(?m)^\s+(--[a-z0-9-]+)", run.stdout))
    containers = [d["spec"]["template"]["spec"]["containers"][0] for docs in rendered.values() for d in docs
                  if d["kind"] == "Deployment"] + kserve_containers
    for container in containers:
        args = serve_args(container)
        assert set(flag_names(args)) <= offered, set(flag_names(args)) - offered
        build_parser("serve").parse_args(args)  # and their values parse


def probe_target(probe):
    """(port, service) a probe asks: Kubernetes' gRPC probe, or grpc-health-probe run in the container."""
    if "grpc" in probe:
        return probe["grpc"]["port"], probe["grpc"].get("service", "")
    command = probe["exec"]["command"]
    assert command[0] == "grpc-health-probe"  # the image carries it (deploy/image/build.sh)
    options = dict(a.lstrip("-").split("=", 1) for a in command[1:] if "=" in a)
    return port_of(options["addr"]), options.get("service", "")


@pytest.mark.parametrize("name", ["base", "overlays/production"])
def test_ports_probes_grace_user_and_volumes_agree(rendered, name):
    docs = rendered[name]
    deployment, service = only(docs, "Deployment"), only(docs, "Service")
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    args = build_parser("serve").parse_args(serve_args(container))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": port_of(args.address), "metrics": port_of(args.metrics_address)}
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        port, asked = probe_target(container[kind])
        assert port == ports["grpc"] and asked in SERVICES, kind
    assert pod["spec"]["terminationGracePeriodSeconds"] > args.grace
    uid = int(re.search(r"(?m)^uid=(\d+)", (DEPLOY / "image" / "build.sh").read_text())[1])
    assert pod["spec"]["securityContext"]["runAsNonRoot"] and pod["spec"]["securityContext"]["runAsUser"] == uid
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] and "/tmp" in mounts
    assert mounts[args.graphs]["readOnly"]
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert set(volumes) == {m["name"] for m in mounts.values()}
    for flag, path in (("tls_cert", args.tls_cert), ("tls_key", args.tls_key), ("token_file", args.token_file)):
        if path:  # a secret's file, inside that secret's mount
            mount = next(m for p, m in mounts.items() if str(path).startswith(p + "/"))
            assert "secret" in volumes[mount["name"]], flag
    labels = pod["metadata"]["labels"]
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["selector"].items() <= labels.items()
    assert {p["name"]: p["targetPort"] for p in service["spec"]["ports"]} == {"grpc": "grpc", "metrics": "metrics"}
    assert only(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    annotations = pod["metadata"].get("annotations", {})
    if "ServiceMonitor" in [d["kind"] for d in docs]:  # one way to be scraped, not two
        monitor = only(docs, "ServiceMonitor")
        assert "prometheus.io/scrape" not in annotations
        assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
        assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]
    else:
        assert annotations["prometheus.io/port"] == str(ports["metrics"])
    if name == "overlays/production":
        assert args.tls_cert and args.tls_key and args.token_file
        hpa = only(docs, "HorizontalPodAutoscaler")
        assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
        assert "replicas" not in deployment["spec"]  # the autoscaler owns it


# ---- metrics -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def exposition(tmp_path_factory, fft_graph_dir):
    """What a real server's /metrics says after one FFT call."""
    graphs = tmp_path_factory.mktemp("graphs")
    (graphs / "fft").symlink_to(fft_graph_dir, target_is_directory=True)
    server = Server(ServerConfig(graphs=graphs, address="127.0.0.1:0", metrics_address="127.0.0.1:0",
                                 poll_seconds=0)).start()
    try:
        x = np.arange(8, dtype="<f8")
        pb_grpc.OperatorStub(grpc.insecure_channel(server.address)).FFT(
            pb.FFTRequest(signals=pb.Float64Tensor(shape=[1, 8], content=x.tobytes())), timeout=60)
        return urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=10).read().decode()
    finally:
        server.stop(0)


@pytest.fixture(scope="module")
def exported(exposition):
    """Every series name the server can export: each family's, with its type's suffixes."""
    suffixes = {"counter": ["", "_created"], "gauge": [""], "histogram": ["_bucket", "_sum", "_count", "_created"]}
    names = set()
    for family, kind in re.findall(r"(?m)^# TYPE (\S+) (\S+)$", exposition):
        names |= {family + s for s in suffixes.get(kind, [""])}
    return names


def metric_names(expr):
    return set(re.findall(r"\b((?:sigop|process)_[a-z0-9_]+)", expr))


def adapter_rules():
    return yaml.safe_load((KUBERNETES / "components" / "autoscaling" / "prometheus-adapter-rules.yaml").read_text())


def dashboard():
    return json.loads((DEPLOY / "grafana" / "sigop.json").read_text())


def dashboard_exprs():
    d = dashboard()
    return ([t["expr"] for p in d["panels"] for t in p["targets"]] +
            [v["definition"] for v in d["templating"]["list"] if v["type"] == "query"])


def test_the_autoscaler_and_its_adapter_rule_name_an_exported_gauge(rendered, exported, exposition):
    hpa = only(rendered["overlays/production"], "HorizontalPodAutoscaler")
    [metric] = [m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"]]
    [rule] = adapter_rules()["rules"]
    assert rule["name"]["as"] == metric and re.fullmatch(rule["name"]["matches"], metric)
    assert metric_names(rule["seriesQuery"]) == {metric} and metric in exported
    assert f"# TYPE {metric} gauge" in exposition  # an average of a gauge: a counter would need rate()
    assert set(rule["resources"]["overrides"]) == {"namespace", "pod"}


def test_every_metric_the_dashboard_shows_is_exported(exported):
    used = set().union(*(metric_names(e) for e in dashboard_exprs()))
    assert used - exported == set()
    for family in ("sigop_requests_total", "sigop_request_seconds_bucket", "sigop_queue_seconds_bucket",
                   "sigop_batch_size_sum", "sigop_streams_open", "sigop_models_loaded", "sigop_inflight_calls",
                   "sigop_compute_seconds_bucket", "sigop_unknown_answers_total"):
        assert family in used, f"the dashboard shows no {family}"


def test_the_dashboard_is_well_formed():
    d = dashboard()
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)) and d["uid"] and d["schemaVersion"] >= 36
    variables = {v["name"] for v in d["templating"]["list"]}
    for p in d["panels"]:
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"} and p["targets"], p["title"]
        assert set(p["gridPos"]) == {"h", "w", "x", "y"} and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
        for t in p["targets"]:
            assert set(re.findall(r"\$(\w+)", t["expr"])) - {"__rate_interval"} <= variables, p["title"]


def promql_for_promtool(expr):
    """An expression with Grafana's and the adapter's template variables filled, as each fills them."""
    return (expr.replace("$__rate_interval", "1m").replace("$namespace", ".*").replace("$pod", ".*")
            .replace("<<.Series>>", "sigop_inflight_calls").replace("<<.LabelMatchers>>", 'namespace="sigop"')
            .replace("<<.GroupBy>>", "pod"))


@need(PROMTOOL, "SIGOP_PROMTOOL")
def test_promtool_parses_every_expression_and_lints_the_metrics(tmp_path, exposition):
    exprs = dashboard_exprs() + [r[k] for r in adapter_rules()["rules"] for k in ("seriesQuery", "metricsQuery")]
    # Grafana's label_values(selector, label) is not PromQL; its selector is.
    exprs = [re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", e) for e in exprs]
    rules = {"groups": [{"name": "sigop", "rules": [{"record": f"sigop:check:{i}", "expr": promql_for_promtool(e)}
                                                    for i, e in enumerate(exprs)]}]}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    run = subprocess.run([PROMTOOL, "check", "rules", str(tmp_path / "rules.yaml")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(
        {"groups": [{"name": "x", "rules": [{"record": "x", "expr": "sum(rate(sigop_requests_total[1m])"}]}]}))
    assert subprocess.run([PROMTOOL, "check", "rules", str(tmp_path / "broken.yaml")], capture_output=True).returncode
    lint = subprocess.run([PROMTOOL, "check", "metrics"], input=exposition, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
