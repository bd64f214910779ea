// A Go program on the Switchyard SDK: the config from SWITCHYARD_CONFIG (a file), or the
// management server from SWITCHYARD_SERVER and SWITCHYARD_API_KEY; one chat completion,
// one streamed, with a deadline; errors matched by kind. Run: go run . (docs/sdk/go.md).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/switchyard/switchyard-go"
	"github.com/switchyard/switchyard-go/option"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	defer switchyard.Shutdown() // ships usage still queued
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	client, err := switchyard.NewClient(ctx) // the environment names the config
	if err != nil {
		return err
	}
	defer client.Close()

	completion, err := client.Chat.Completions.New(ctx, switchyard.ChatCompletionNewParams{
		Model: "chat",
		Messages: []switchyard.ChatCompletionMessageParam{
			switchyard.SystemMessage("Be brief."),
			switchyard.UserMessage("Say hello"),
		},
	}, option.WithUser("example"))
	var e *switchyard.Error
	if errors.As(err, &e) && e.Kind == switchyard.KindRateLimited {
		return fmt.Errorf("rate limited: retry in %.0f s", e.RetryAfter)
	}
	if err != nil {
		return err
	}
	fmt.Printf("answer: %s (from %s, %d attempt(s))\n", completion.Choices[0].Message.Content,
		completion.Switchyard.Deployment, completion.Switchyard.Attempts)

	stream := client.Chat.Completions.NewStreaming(ctx, switchyard.ChatCompletionNewParams{
		Model:    "chat",
		Messages: []switchyard.ChatCompletionMessageParam{switchyard.UserMessage("Count to three")},
	})
	defer stream.Close()
	fmt.Print("streamed: ")
	for stream.Next() {
		for _, choice := range stream.Current().Choices {
			fmt.Print(choice.Delta.Content)
		}
	}
	fmt.Println()
	return stream.Err()
}
