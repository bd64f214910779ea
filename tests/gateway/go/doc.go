// Package gatewaytests runs the official openai-go client, unchanged, against the
// Switchyard gateway (see gateway_test.go).
package gatewaytests
