"""sigop: signal operators as frozen TensorFlow graphs, served over gRPC.

The package exports graphs (``sigop export-fft``) and serves them
(``sigop serve``); Go programs call them through the ``go/operator`` client.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
