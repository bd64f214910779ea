// examples/go, built and run as a user would (go run, its own module with a replace of
// this SDK) against the mock provider, with the config file named by SWITCHYARD_CONFIG.

package switchyard

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestTheGoExampleRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	s := newSession(t, map[string]any{"models": map[string]any{"*": []any{map[string]any{"content": "hello from the mock"}}}})
	config, _ := json.Marshal(s.openaiConfig(nil))
	file := filepath.Join(t.TempDir(), "switchyard.json")
	if err := os.WriteFile(file, config, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = filepath.Join(root, "examples", "go")
	cmd.Env = append(os.Environ(), "SWITCHYARD_CONFIG="+file, "SWITCHYARD_SERVER=", "SWITCHYARD_API_KEY=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	text := string(out)
	if !strings.Contains(text, "answer: hello from the mock (from oa/gpt-4o-mini, 1 attempt(s))") ||
		!strings.Contains(text, "streamed: hello from the mock") {
		t.Fatalf("unexpected output:\n%s", text)
	}
}
