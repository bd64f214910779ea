module github.com/switchyard/switchyard-go

go 1.26.0
