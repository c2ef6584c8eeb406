"""Training: datasets of class folders, augmentation, backbones and networks, and the trainers that export classifiers."""
