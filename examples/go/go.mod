module github.com/switchyard/examples-go

go 1.26.0

require github.com/switchyard/switchyard-go v0.0.0

// The SDK from this repository (build its library first: make go-sdk).
replace github.com/switchyard/switchyard-go => ../../bindings-go
