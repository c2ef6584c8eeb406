"""Demo and test data sigop generates: the article's classes, seed 002's spectra, espeak-ng digits."""
