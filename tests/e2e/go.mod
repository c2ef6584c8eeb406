module github.com/sigop-dev/sigop/tests/e2e

go 1.26.0

require github.com/sigop-dev/sigop/go v0.0.0

replace github.com/sigop-dev/sigop/go => ../../go
