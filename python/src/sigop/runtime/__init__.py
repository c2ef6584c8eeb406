"""Model runtimes: a frozen graph on TensorFlow, a classifier's LiteRT copy, loading and warming either up.

Used alike by the server, training's export checks, ``sigop evaluate`` and
``sigop export-lite``; nothing here knows of gRPC or of training.
"""

RUNTIMES = ("auto", "tf", "lite")  # what runs classifiers: LiteRT when a copy is usable, TensorFlow, LiteRT only
