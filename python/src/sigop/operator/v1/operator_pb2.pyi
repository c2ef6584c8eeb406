from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Spectrum(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPECTRUM_UNSPECIFIED: _ClassVar[Spectrum]
    SPECTRUM_MAGNITUDE: _ClassVar[Spectrum]
    SPECTRUM_COMPLEX: _ClassVar[Spectrum]

class ModelState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_STATE_UNSPECIFIED: _ClassVar[ModelState]
    MODEL_STATE_AVAILABLE: _ClassVar[ModelState]
    MODEL_STATE_FAILED: _ClassVar[ModelState]
SPECTRUM_UNSPECIFIED: Spectrum
SPECTRUM_MAGNITUDE: Spectrum
SPECTRUM_COMPLEX: Spectrum
MODEL_STATE_UNSPECIFIED: ModelState
MODEL_STATE_AVAILABLE: ModelState
MODEL_STATE_FAILED: ModelState

class ModelSpec(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class Float64Tensor(_message.Message):
    __slots__ = ("shape", "content", "shared_memory")
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SHARED_MEMORY_FIELD_NUMBER: _ClassVar[int]
    shape: _containers.RepeatedScalarFieldContainer[int]
    content: bytes
    shared_memory: SharedMemoryRef
    def __init__(self, shape: _Optional[_Iterable[int]] = ..., content: _Optional[bytes] = ..., shared_memory: _Optional[_Union[SharedMemoryRef, _Mapping]] = ...) -> None: ...

class SharedMemoryRef(_message.Message):
    __slots__ = ("region", "offset", "byte_size")
    REGION_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    BYTE_SIZE_FIELD_NUMBER: _ClassVar[int]
    region: str
    offset: int
    byte_size: int
    def __init__(self, region: _Optional[str] = ..., offset: _Optional[int] = ..., byte_size: _Optional[int] = ...) -> None: ...

class SharedMemoryRegion(_message.Message):
    __slots__ = ("name", "key", "offset", "byte_size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    BYTE_SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    key: str
    offset: int
    byte_size: int
    def __init__(self, name: _Optional[str] = ..., key: _Optional[str] = ..., offset: _Optional[int] = ..., byte_size: _Optional[int] = ...) -> None: ...

class RegisterSharedMemoryRequest(_message.Message):
    __slots__ = ("region",)
    REGION_FIELD_NUMBER: _ClassVar[int]
    region: SharedMemoryRegion
    def __init__(self, region: _Optional[_Union[SharedMemoryRegion, _Mapping]] = ...) -> None: ...

class RegisterSharedMemoryResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UnregisterSharedMemoryRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class UnregisterSharedMemoryResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SharedMemoryStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SharedMemoryStatusResponse(_message.Message):
    __slots__ = ("regions", "max_regions", "max_bytes")
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_REGIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
    regions: _containers.RepeatedCompositeFieldContainer[SharedMemoryRegion]
    max_regions: int
    max_bytes: int
    def __init__(self, regions: _Optional[_Iterable[_Union[SharedMemoryRegion, _Mapping]]] = ..., max_regions: _Optional[int] = ..., max_bytes: _Optional[int] = ...) -> None: ...

class FFTRequest(_message.Message):
    __slots__ = ("model_spec", "signals", "spectra", "output")
    MODEL_SPEC_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    SPECTRA_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    model_spec: ModelSpec
    signals: Float64Tensor
    spectra: _containers.RepeatedScalarFieldContainer[Spectrum]
    output: SharedMemoryRef
    def __init__(self, model_spec: _Optional[_Union[ModelSpec, _Mapping]] = ..., signals: _Optional[_Union[Float64Tensor, _Mapping]] = ..., spectra: _Optional[_Iterable[_Union[Spectrum, str]]] = ..., output: _Optional[_Union[SharedMemoryRef, _Mapping]] = ...) -> None: ...

class FFTResponse(_message.Message):
    __slots__ = ("model_spec", "magnitude", "real", "imag")
    MODEL_SPEC_FIELD_NUMBER: _ClassVar[int]
    MAGNITUDE_FIELD_NUMBER: _ClassVar[int]
    REAL_FIELD_NUMBER: _ClassVar[int]
    IMAG_FIELD_NUMBER: _ClassVar[int]
    model_spec: ModelSpec
    magnitude: Float64Tensor
    real: Float64Tensor
    imag: Float64Tensor
    def __init__(self, model_spec: _Optional[_Union[ModelSpec, _Mapping]] = ..., magnitude: _Optional[_Union[Float64Tensor, _Mapping]] = ..., real: _Optional[_Union[Float64Tensor, _Mapping]] = ..., imag: _Optional[_Union[Float64Tensor, _Mapping]] = ...) -> None: ...

class ClassifyRequest(_message.Message):
    __slots__ = ("model_spec", "images", "top_k")
    MODEL_SPEC_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    model_spec: ModelSpec
    images: _containers.RepeatedScalarFieldContainer[bytes]
    top_k: int
    def __init__(self, model_spec: _Optional[_Union[ModelSpec, _Mapping]] = ..., images: _Optional[_Iterable[bytes]] = ..., top_k: _Optional[int] = ...) -> None: ...

class Class(_message.Message):
    __slots__ = ("label", "score")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    label: str
    score: float
    def __init__(self, label: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class Classification(_message.Message):
    __slots__ = ("classes", "unknown_score", "unknown")
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_SCORE_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    classes: _containers.RepeatedCompositeFieldContainer[Class]
    unknown_score: float
    unknown: bool
    def __init__(self, classes: _Optional[_Iterable[_Union[Class, _Mapping]]] = ..., unknown_score: _Optional[float] = ..., unknown: _Optional[bool] = ...) -> None: ...

class ClassifyResponse(_message.Message):
    __slots__ = ("model_spec", "classifications")
    MODEL_SPEC_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    model_spec: ModelSpec
    classifications: _containers.RepeatedCompositeFieldContainer[Classification]
    def __init__(self, model_spec: _Optional[_Union[ModelSpec, _Mapping]] = ..., classifications: _Optional[_Iterable[_Union[Classification, _Mapping]]] = ...) -> None: ...

class ClassifySignalRequest(_message.Message):
    __slots__ = ("model_spec", "signals", "top_k", "sample_rate")
    MODEL_SPEC_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    model_spec: ModelSpec
    signals: Float64Tensor
    top_k: int
    sample_rate: float
    def __init__(self, model_spec: _Optional[_Union[ModelSpec, _Mapping]] = ..., signals: _Optional[_Union[Float64Tensor, _Mapping]] = ..., top_k: _Optional[int] = ..., sample_rate: _Optional[float] = ...) -> None: ...

class ClassifySignalResponse(_message.Message):
    __slots__ = ("model_spec", "classifications")
    MODEL_SPEC_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    model_spec: ModelSpec
    classifications: _containers.RepeatedCompositeFieldContainer[Classification]
    def __init__(self, model_spec: _Optional[_Union[ModelSpec, _Mapping]] = ..., classifications: _Optional[_Iterable[_Union[Classification, _Mapping]]] = ...) -> None: ...

class ClassifyAudioRequest(_message.Message):
    __slots__ = ("model_spec", "audio", "top_k")
    MODEL_SPEC_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    model_spec: ModelSpec
    audio: _containers.RepeatedScalarFieldContainer[bytes]
    top_k: int
    def __init__(self, model_spec: _Optional[_Union[ModelSpec, _Mapping]] = ..., audio: _Optional[_Iterable[bytes]] = ..., top_k: _Optional[int] = ...) -> None: ...

class ClassifyAudioResponse(_message.Message):
    __slots__ = ("model_spec", "classifications")
    MODEL_SPEC_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    model_spec: ModelSpec
    classifications: _containers.RepeatedCompositeFieldContainer[Classification]
    def __init__(self, model_spec: _Optional[_Union[ModelSpec, _Mapping]] = ..., classifications: _Optional[_Iterable[_Union[Classification, _Mapping]]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelStatus]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelStatus, _Mapping]]] = ...) -> None: ...

class ModelStatus(_message.Message):
    __slots__ = ("name", "versions")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    versions: _containers.RepeatedCompositeFieldContainer[ModelVersionStatus]
    def __init__(self, name: _Optional[str] = ..., versions: _Optional[_Iterable[_Union[ModelVersionStatus, _Mapping]]] = ...) -> None: ...

class ModelVersionStatus(_message.Message):
    __slots__ = ("version", "state", "message", "kind", "labels", "manifest_json", "runtime", "input_form", "channels", "channel_names", "sample_rate", "samples")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_JSON_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    INPUT_FORM_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_NAMES_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    version: int
    state: ModelState
    message: str
    kind: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    manifest_json: str
    runtime: str
    input_form: str
    channels: int
    channel_names: _containers.RepeatedScalarFieldContainer[str]
    sample_rate: float
    samples: int
    def __init__(self, version: _Optional[int] = ..., state: _Optional[_Union[ModelState, str]] = ..., message: _Optional[str] = ..., kind: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ..., manifest_json: _Optional[str] = ..., runtime: _Optional[str] = ..., input_form: _Optional[str] = ..., channels: _Optional[int] = ..., channel_names: _Optional[_Iterable[str]] = ..., sample_rate: _Optional[float] = ..., samples: _Optional[int] = ...) -> None: ...

class StreamConfig(_message.Message):
    __slots__ = ("model_spec", "sample_rate", "hop", "top_k", "smoothing_windows", "min_duration", "threshold", "unknown_events")
    MODEL_SPEC_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    HOP_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    SMOOTHING_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    MIN_DURATION_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_EVENTS_FIELD_NUMBER: _ClassVar[int]
    model_spec: ModelSpec
    sample_rate: float
    hop: float
    top_k: int
    smoothing_windows: int
    min_duration: float
    threshold: float
    unknown_events: bool
    def __init__(self, model_spec: _Optional[_Union[ModelSpec, _Mapping]] = ..., sample_rate: _Optional[float] = ..., hop: _Optional[float] = ..., top_k: _Optional[int] = ..., smoothing_windows: _Optional[int] = ..., min_duration: _Optional[float] = ..., threshold: _Optional[float] = ..., unknown_events: _Optional[bool] = ...) -> None: ...

class ClassifyStreamRequest(_message.Message):
    __slots__ = ("config", "samples")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    config: StreamConfig
    samples: Float64Tensor
    def __init__(self, config: _Optional[_Union[StreamConfig, _Mapping]] = ..., samples: _Optional[_Union[Float64Tensor, _Mapping]] = ...) -> None: ...

class StreamWindow(_message.Message):
    __slots__ = ("start_sample", "end_sample", "start_seconds", "end_seconds", "classification")
    START_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    END_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    START_SECONDS_FIELD_NUMBER: _ClassVar[int]
    END_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    start_sample: int
    end_sample: int
    start_seconds: float
    end_seconds: float
    classification: Classification
    def __init__(self, start_sample: _Optional[int] = ..., end_sample: _Optional[int] = ..., start_seconds: _Optional[float] = ..., end_seconds: _Optional[float] = ..., classification: _Optional[_Union[Classification, _Mapping]] = ...) -> None: ...

class StreamEvent(_message.Message):
    __slots__ = ("label", "start_seconds", "score", "previous", "previous_start_seconds", "start_sample", "previous_start_sample")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    START_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_START_SECONDS_FIELD_NUMBER: _ClassVar[int]
    START_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_START_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    label: str
    start_seconds: float
    score: float
    previous: str
    previous_start_seconds: float
    start_sample: int
    previous_start_sample: int
    def __init__(self, label: _Optional[str] = ..., start_seconds: _Optional[float] = ..., score: _Optional[float] = ..., previous: _Optional[str] = ..., previous_start_seconds: _Optional[float] = ..., start_sample: _Optional[int] = ..., previous_start_sample: _Optional[int] = ...) -> None: ...

class ClassifyStreamResponse(_message.Message):
    __slots__ = ("model_spec", "window", "event")
    MODEL_SPEC_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    model_spec: ModelSpec
    window: StreamWindow
    event: StreamEvent
    def __init__(self, model_spec: _Optional[_Union[ModelSpec, _Mapping]] = ..., window: _Optional[_Union[StreamWindow, _Mapping]] = ..., event: _Optional[_Union[StreamEvent, _Mapping]] = ...) -> None: ...
