// A program using the SDK exits with status 0, promptly, once its calls are done: with and
// without Close, with a stream left open, with many calls at once, with a call canceled in
// flight, with Shutdown. Each variant runs as a real process (this test binary, re-run
// with childEnv set), several times.

package switchyard

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// childEnv names the variant a re-run of the test binary plays (see TestMain).
const childEnv = "SWITCHYARD_GO_EXIT_CHILD"

// exitLimit is generous for a loaded 2-core machine.
const exitLimit = 5 * time.Second

// runChild is the program: it returns the exit status.
func runChild() int {
	var config map[string]any
	if err := json.Unmarshal([]byte(os.Getenv("SWITCHYARD_GO_EXIT_CONFIG")), &config); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	client, err := NewClient(ctx, WithConfig(config))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	params := ChatCompletionNewParams{Model: "chat", Messages: []ChatCompletionMessageParam{UserMessage("hi")}}
	switch os.Getenv(childEnv) {
	case "one", "one-closed", "shutdown":
		r, err := client.Chat.Completions.New(ctx, params)
		if err != nil || r.Choices[0].Message.Content == "" {
			fmt.Fprintln(os.Stderr, "call:", err)
			return 4
		}
		if os.Getenv(childEnv) != "one" {
			_ = client.Close()
		}
		if os.Getenv(childEnv) == "shutdown" {
			Shutdown()
		}
	case "many":
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(func() { _, _ = client.Chat.Completions.New(ctx, params) })
		}
		wg.Wait()
	case "stream-left-open":
		stream := client.Chat.Completions.NewStreaming(ctx, params)
		if !stream.Next() {
			fmt.Fprintln(os.Stderr, "stream:", stream.Err())
			return 5
		}
	case "canceled-in-flight":
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, _ = client.Chat.Completions.New(ctx, params)
	}
	return 0
}

func TestAProgramExitsZeroPromptly(t *testing.T) {
	runs := 3
	if n, err := strconv.Atoi(os.Getenv("SWITCHYARD_EXIT_RUNS")); err == nil {
		runs = n
	}
	s := newSession(t, map[string]any{"models": map[string]any{"*": []any{map[string]any{"content": "a b c d e f", "inter_token_ms": 50}}}})
	config, _ := json.Marshal(s.openaiConfig(nil))
	for _, variant := range []string{"one", "one-closed", "shutdown", "many", "stream-left-open", "canceled-in-flight"} {
		t.Run(variant, func(t *testing.T) {
			for range runs {
				ctx, cancel := context.WithTimeout(context.Background(), 2*exitLimit)
				cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), childEnv+"="+variant, "SWITCHYARD_GO_EXIT_CONFIG="+string(config))
				started := time.Now()
				out, err := cmd.CombinedOutput()
				cancel()
				if err != nil {
					t.Fatalf("exit: %v\n%s", err, out)
				}
				if d := time.Since(started); d > exitLimit {
					t.Fatalf("exited after %s", d)
				}
			}
		})
	}
}
