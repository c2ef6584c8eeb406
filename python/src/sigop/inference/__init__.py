"""Generated stubs of the Open Inference Protocol (make generate); never edit by hand."""
