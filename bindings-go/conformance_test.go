// Every scenario file in tests/conformance/scenarios/ (SWITCHYARD_SCENARIO_DIRS, separated
// by the path list separator, runs other folders instead) through the Go client, with every
// field of tests/conformance/README.md checked as the Rust, Python and Node runners check
// it (bindings-node/test/support/scenario.js is the port's reference).

package switchyard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard-go/option"
)

type object = map[string]any

func TestConformance(t *testing.T) {
	dirs := filepath.SplitList(os.Getenv("SWITCHYARD_SCENARIO_DIRS"))
	if len(dirs) == 0 {
		dirs = []string{
			filepath.Join(root, "tests", "conformance", "scenarios"),
			filepath.Join(root, "tests", "conformance", "scenarios-next"),
		}
	}
	var files []string
	for _, dir := range dirs {
		for _, pattern := range []string{"*.yaml", "*.yml"} {
			found, _ := filepath.Glob(filepath.Join(dir, pattern))
			files = append(files, found...)
		}
	}
	slices.Sort(files)
	if len(files) == 0 {
		t.Fatalf("no scenario files in %v", dirs)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		t.Run(name, func(t *testing.T) {
			if err := runScenario(t, file); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func localModelPath() string {
	if p := os.Getenv("SWITCHYARD_LOCAL_MODEL"); p != "" {
		return p
	}
	return filepath.Join(root, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
}

// substitute replaces {{mock}} and {{local_model}} in every string of v.
func substitute(v any, base string) any {
	switch v := v.(type) {
	case string:
		return strings.ReplaceAll(strings.ReplaceAll(v, "{{mock}}", base), "{{local_model}}", localModelPath())
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = substitute(x, base)
		}
		return out
	case object:
		out := object{}
		for k, x := range v {
			out[k] = substitute(x, base)
		}
		return out
	}
	return v
}

// canonical is v as JSON text (sorted keys, numbers as JSON writes them), for comparing.
func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	var back any
	_ = json.Unmarshal(b, &back)
	b, _ = json.Marshal(back)
	return string(b)
}

func same(what string, expected, actual any) error {
	if canonical(expected) != canonical(actual) {
		return fmt.Errorf("%s: expected %s, got %s", what, canonical(expected), canonical(actual))
	}
	return nil
}

// toolCall is a tool call of choice 0, assembled.
type toolCall struct {
	id, name, arguments string
}

// outcome is one call's result, as the runner checks it.
type outcome struct {
	err          *Error
	text         string
	finishReason any
	toolCalls    []toolCall
	usage        *CompletionUsage
	meta         object
	chunks       int
	restarted    bool
	embeddings   []int
	models       []string
	elapsed      time.Duration
	user         any
}

func metaObject(m CallMeta) object {
	var o object
	b, _ := json.Marshal(m)
	_ = json.Unmarshal(b, &o)
	return o
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// callArgs is a step's request and options; `{i}` and `{c}` fill a user template.
func callArgs(step object, i, c int) (object, []option.RequestOption, any, error) {
	request := object{}
	if r, ok := step["request"].(object); ok {
		for k, v := range r {
			request[k] = v
		}
	}
	delete(request, "stream")
	var opts []option.RequestOption
	var user any
	options, _ := step["options"].(object)
	for name, value := range options {
		switch name {
		case "timeout_ms":
			ms, _ := value.(float64)
			opts = append(opts, option.WithTimeout(time.Duration(ms*float64(time.Millisecond))))
		case "user":
			if _, templated := options["user_template"]; !templated {
				user = value
				opts = append(opts, option.WithUser(fmt.Sprint(value)))
			}
		case "user_template":
			u := strings.ReplaceAll(strings.ReplaceAll(fmt.Sprint(value), "{i}", fmt.Sprint(i)), "{c}", fmt.Sprint(c))
			user = u
			opts = append(opts, option.WithUser(u))
		case "session":
			opts = append(opts, option.WithSession(fmt.Sprint(value)))
		case "tenant":
			opts = append(opts, option.WithTenant(fmt.Sprint(value)))
		case "app":
			opts = append(opts, option.WithApp(fmt.Sprint(value)))
		case "deployment":
			opts = append(opts, option.WithDeployment(fmt.Sprint(value)))
		case "cache":
			opts = append(opts, option.WithCache(fmt.Sprint(value)))
		case "tags":
			var tags []string
			for _, tag := range value.([]any) {
				tags = append(tags, fmt.Sprint(tag))
			}
			opts = append(opts, option.WithTags(tags...))
		case "metadata":
			m := map[string]string{}
			for k, v := range value.(object) {
				m[k] = fmt.Sprint(v)
			}
			opts = append(opts, option.WithMetadata(m))
		case "abandon_after_chunks":
		default:
			return nil, nil, nil, fmt.Errorf("unknown call option %s in the scenario", name)
		}
	}
	return request, opts, user, nil
}

// assembler concatenates streamed chunks into the answer of choice 0.
type assembler struct {
	text         strings.Builder
	finishReason any
	tools        map[int64]*toolCall
	usage        *CompletionUsage
}

func newAssembler() *assembler { return &assembler{tools: map[int64]*toolCall{}} }

func (a *assembler) push(chunk ChatCompletionChunk) {
	if chunk.Usage != nil {
		a.usage = chunk.Usage
	}
	for _, choice := range chunk.Choices {
		if choice.Index != 0 {
			continue
		}
		a.text.WriteString(choice.Delta.Content)
		for _, call := range choice.Delta.ToolCalls {
			slot, ok := a.tools[call.Index]
			if !ok {
				slot = &toolCall{}
				a.tools[call.Index] = slot
			}
			if call.ID != "" {
				slot.id = call.ID
			}
			slot.name += call.Function.Name
			slot.arguments += call.Function.Arguments
		}
		if choice.FinishReason != "" {
			a.finishReason = choice.FinishReason
		}
	}
}

func (a *assembler) into(r *outcome) {
	r.text = a.text.String()
	r.finishReason = a.finishReason
	keys := make([]int64, 0, len(a.tools))
	for k := range a.tools {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		r.toolCalls = append(r.toolCalls, *a.tools[k])
	}
	r.usage = a.usage
}

func has(m object, key string) bool {
	_, ok := m[key]
	return ok
}

func number(v any) float64 {
	f, _ := v.(float64)
	return f
}

func checkCall(expect object, r outcome) error {
	e, _ := expect["error"].(object)
	if e == nil && r.err != nil {
		return fmt.Errorf("unexpected error: %v", r.err)
	}
	if e != nil && r.err == nil {
		return fmt.Errorf("expected a %v error, the call succeeded", e["kind"])
	}
	if e != nil {
		err := r.err
		if x := same(fmt.Sprintf("error kind (%s)", err.Message), e["kind"], string(err.Kind)); x != nil {
			return x
		}
		checks := []struct {
			key    string
			actual any
		}{{"field", orNull(err.Field)}, {"retryable", err.Retryable}, {"deployment", orNull(err.Deployment)}, {"rule", orNull(err.Rule)}}
		if err.Status != 0 {
			checks = append(checks, struct {
				key    string
				actual any
			}{"status", err.Status})
		} else {
			checks = append(checks, struct {
				key    string
				actual any
			}{"status", nil})
		}
		for _, c := range checks {
			if has(e, c.key) {
				if x := same("error "+c.key, e[c.key], c.actual); x != nil {
					return x
				}
			}
		}
		if s, ok := e["message_contains"].(string); ok && !strings.Contains(err.Message, s) {
			return fmt.Errorf("error message %s lacks %s", err.Message, s)
		}
		if has(e, "after_chunks_min") && float64(r.chunks) < number(e["after_chunks_min"]) {
			return fmt.Errorf("error came after %d chunks, expected at least %v", r.chunks, e["after_chunks_min"])
		}
	}
	if has(expect, "content") {
		if x := same("content", expect["content"], r.text); x != nil {
			return x
		}
	}
	if s, ok := expect["content_contains"].(string); ok && !strings.Contains(r.text, s) {
		return fmt.Errorf("content %s lacks %s", r.text, s)
	}
	if has(expect, "finish_reason") {
		if x := same("finish_reason", expect["finish_reason"], r.finishReason); x != nil {
			return x
		}
	}
	if want, ok := expect["tool_calls"].([]any); ok {
		if x := same("tool call count", len(want), len(r.toolCalls)); x != nil {
			return x
		}
		for i, w := range want {
			w := w.(object)
			got := r.toolCalls[i]
			if x := same("tool name", w["name"], got.name); x != nil {
				return x
			}
			if got.id == "" {
				return fmt.Errorf("a tool call has no id")
			}
			if has(w, "arguments") {
				var parsed any
				if err := json.Unmarshal([]byte(got.arguments), &parsed); err != nil {
					return fmt.Errorf("tool arguments are not JSON (%v): %s", err, got.arguments)
				}
				if x := same("tool arguments", w["arguments"], parsed); x != nil {
					return x
				}
			}
		}
	}
	if want, ok := expect["usage"].(object); ok {
		u := r.usage
		if u == nil {
			u = &CompletionUsage{}
		}
		actual := object{"prompt_tokens": u.PromptTokens, "completion_tokens": u.CompletionTokens, "total_tokens": u.TotalTokens, "cached_tokens": u.PromptTokensDetails.CachedTokens}
		for name, value := range want {
			if x := same(name, value, actual[name]); x != nil {
				return x
			}
		}
	}
	if r.embeddings != nil {
		if want, ok := expect["embeddings"].(object); ok {
			if x := same("embedding count", want["count"], r.embeddings[0]); x != nil {
				return x
			}
			if has(want, "dimensions") {
				if x := same("embedding dimensions", want["dimensions"], r.embeddings[1]); x != nil {
					return x
				}
			}
		}
	} else if has(expect, "embeddings") {
		return fmt.Errorf("expected embeddings, got none")
	}
	if has(expect, "models") {
		if x := same("models", expect["models"], r.models); x != nil {
			return x
		}
	}
	if has(expect, "chunks_min") && float64(r.chunks) < number(expect["chunks_min"]) {
		return fmt.Errorf("%d chunks, expected at least %v", r.chunks, expect["chunks_min"])
	}
	if has(expect, "restarted") {
		if x := same("restarted", expect["restarted"], r.restarted); x != nil {
			return x
		}
	}
	elapsed := float64(r.elapsed.Milliseconds())
	if has(expect, "elapsed_ms_min") && elapsed < number(expect["elapsed_ms_min"]) {
		return fmt.Errorf("took %v ms, expected at least %v", elapsed, expect["elapsed_ms_min"])
	}
	if has(expect, "elapsed_ms_max") && elapsed > number(expect["elapsed_ms_max"]) {
		return fmt.Errorf("took %v ms, expected at most %v", elapsed, expect["elapsed_ms_max"])
	}
	metaKeys := []string{"deployment", "model", "attempts", "cache_hit", "fallback", "fallback_taken", "cost_usd"}
	if !slices.ContainsFunc(metaKeys, func(k string) bool { return has(expect, k) }) {
		return nil
	}
	if r.meta == nil {
		return fmt.Errorf("no call metadata")
	}
	for _, key := range metaKeys[:5] {
		if has(expect, key) {
			if x := same(key, expect[key], r.meta[key]); x != nil {
				return x
			}
		}
	}
	if has(expect, "fallback_taken") {
		if x := same("fallback taken", expect["fallback_taken"], r.meta["fallback"] != nil); x != nil {
			return x
		}
	}
	if has(expect, "cost_usd") {
		want, got := number(expect["cost_usd"]), number(r.meta["cost_usd"])
		if math.Abs(want-got) > 1e-9+math.Abs(want)*1e-6 {
			return fmt.Errorf("cost_usd: expected %v, got %v", want, got)
		}
	}
	return nil
}

func checkBatch(step object, results []outcome) error {
	expect, _ := step["expect"].(object)
	if outcomes, ok := step["outcomes"].(object); ok {
		actual := object{}
		for _, r := range results {
			key := "ok"
			if r.err != nil {
				key = string(r.err.Kind)
			}
			actual[key] = number(actual[key]) + 1
		}
		if x := same("outcomes", outcomes, actual); x != nil {
			return x
		}
		for _, r := range results {
			if r.err == nil {
				if x := checkCall(expect, r); x != nil {
					return x
				}
			}
		}
	} else {
		for i, r := range results {
			if x := checkCall(expect, r); x != nil {
				return fmt.Errorf("call %d: %w", i, x)
			}
		}
	}
	if counts, ok := step["deployment_counts"].(object); ok {
		got := map[string]int{}
		for _, r := range results {
			if r.err == nil && r.meta != nil {
				got[fmt.Sprint(r.meta["deployment"])]++
			}
		}
		for deployment, bounds := range counts {
			b := bounds.([]any)
			n := float64(got[deployment])
			if n < number(b[0]) || n > number(b[1]) {
				return fmt.Errorf("deployment %s answered %v calls, expected %v..=%v (%v)", deployment, n, b[0], b[1], got)
			}
		}
	}
	if sticky, _ := step["sticky_by_user"].(bool); sticky {
		seen := map[string]any{}
		for _, r := range results {
			if r.err != nil || r.meta == nil {
				continue
			}
			user := fmt.Sprint(r.user)
			if _, ok := seen[user]; !ok {
				seen[user] = r.meta["deployment"]
			}
			if seen[user] != r.meta["deployment"] {
				return fmt.Errorf("user %s was answered by %v and %v", user, seen[user], r.meta["deployment"])
			}
		}
	}
	if limit, ok := step["total_cost_max_usd"]; ok {
		total := 0.0
		for _, r := range results {
			if r.err == nil && r.meta != nil {
				total += number(r.meta["cost_usd"])
			}
		}
		if total > number(limit)+1e-12 {
			return fmt.Errorf("successful calls cost %v USD in all, more than %v", total, limit)
		}
	}
	return nil
}

// contains checks expected as a subset of actual: objects by key, arrays and scalars exact.
func contains(expected, actual any, at string) error {
	e, eok := expected.(object)
	a, aok := actual.(object)
	if eok && aok {
		for key, value := range e {
			inner, ok := a[key]
			if !ok {
				return fmt.Errorf("%s.%s is missing in %s", at, key, canonical(a))
			}
			if err := contains(value, inner, at+"."+key); err != nil {
				return err
			}
		}
		return nil
	}
	el, eok := expected.([]any)
	al, aok := actual.([]any)
	if eok && aok && len(el) == len(al) {
		for i := range el {
			if err := contains(el[i], al[i], fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
		return nil
	}
	return same(at, expected, actual)
}

// pick is item index of items (-1 the last).
func pick[T any](items []T, index int, what string) (T, error) {
	position := index
	if index < 0 {
		position = len(items) + index
	}
	if position < 0 || position >= len(items) {
		var zero T
		return zero, fmt.Errorf("no %s %d (of %d)", what, index, len(items))
	}
	return items[position], nil
}

func checkUsageEvent(check object, events []object) error {
	index := int(number(check["index"]))
	event, err := pick(events, index, "usage event")
	if err != nil {
		return err
	}
	at := fmt.Sprintf("usage event %d", index)
	for _, field := range []string{"model", "cache_hit", "local"} {
		if has(check, field) {
			if x := same(at+" "+field, check[field], event[field]); x != nil {
				return x
			}
		}
	}
	if has(check, "status") {
		actual := event["status"]
		if status, ok := actual.(object); ok {
			problem, _ := status["error"].(object)
			actual = problem["code"]
		}
		if x := same(at+" status", check["status"], actual); x != nil {
			return x
		}
	}
	content := event["content"]
	if check["content_absent"] == true && content != nil {
		return fmt.Errorf("%s should carry no content: %s", at, canonical(event))
	}
	if (has(check, "content") || has(check, "content_max_bytes")) && content == nil {
		return fmt.Errorf("%s carries no content: %s", at, canonical(event))
	}
	if has(check, "content") {
		if err := contains(check["content"], content, at+" content"); err != nil {
			return err
		}
	}
	if has(check, "content_max_bytes") {
		var buf bytes.Buffer
		encoder := json.NewEncoder(&buf)
		encoder.SetEscapeHTML(false)
		if err := encoder.Encode(content); err != nil {
			return err
		}
		size := len(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		if max := int(number(check["content_max_bytes"])); size > max {
			return fmt.Errorf("%s content is %d bytes, above %d", at, size, max)
		}
	}
	return nil
}

func checkFinal(expect object, c counters, requests []map[string]any, usage []usageBatch) error {
	if has(expect, "upstream_calls") {
		if x := same("upstream calls", expect["upstream_calls"], c.Total); x != nil {
			return x
		}
	}
	byModel, _ := expect["upstream_calls_by_model"].(object)
	for model, calls := range byModel {
		if x := same("upstream calls to "+model, calls, c.Models[model]); x != nil {
			return x
		}
	}
	var events []object
	for _, batch := range usage {
		events = append(events, batch.Events...)
	}
	usageChecks, _ := expect["usage_events"].([]any)
	for _, check := range usageChecks {
		if err := checkUsageEvent(check.(object), events); err != nil {
			return err
		}
	}
	absentTexts, _ := expect["usage_text_absent"].([]any)
	for _, text := range absentTexts {
		for _, batch := range usage {
			if strings.Contains(batch.Raw, fmt.Sprint(text)) {
				return fmt.Errorf("%q was shipped: %s", text, batch.Raw)
			}
		}
	}
	checks, _ := expect["requests"].([]any)
	for _, check := range checks {
		check := check.(object)
		recorded, err := pick(requests, int(number(check["index"])), "recorded request")
		if err != nil {
			return err
		}
		if has(check, "path") {
			if x := same("request path", check["path"], recorded["path"]); x != nil {
				return x
			}
		}
		headers, _ := recorded["headers"].(object)
		want, _ := check["headers"].(object)
		for name, value := range want {
			if x := same("request header "+name, value, headers[name]); x != nil {
				return x
			}
		}
		absent, _ := check["headers_absent"].([]any)
		for _, name := range absent {
			if has(headers, fmt.Sprint(name)) {
				return fmt.Errorf("request header %v should be absent", name)
			}
		}
		if has(check, "body") {
			if err := contains(check["body"], recorded["body"], "body"); err != nil {
				return err
			}
		}
		bodyAbsent, _ := check["body_absent"].([]any)
		body, _ := recorded["body"].(object)
		for _, name := range bodyAbsent {
			if has(body, fmt.Sprint(name)) {
				return fmt.Errorf("request body field %v should be absent", name)
			}
		}
	}
	return nil
}

type runner struct {
	client *Client
	base   string
}

func (r *runner) step(step object) error {
	if d := number(step["delay_ms"]); d > 0 {
		time.Sleep(time.Duration(d) * time.Millisecond)
	}
	switch op := step["op"]; op {
	case "sleep":
		time.Sleep(time.Duration(number(step["ms"])) * time.Millisecond)
	case "parallel":
		steps, _ := step["steps"].([]any)
		errs := make([]error, len(steps))
		var wg sync.WaitGroup
		for i, s := range steps {
			wg.Go(func() { errs[i] = r.step(s.(object)) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
	case "flush":
		return r.client.Flush(context.Background())
	case "reload":
		var o outcome
		if err := r.client.Reload(substitute(step["config"], r.base)); err != nil {
			o.err = err.(*Error)
		}
		expect, _ := step["expect"].(object)
		return checkCall(expect, o)
	case "chat", "stream", "embed", "models":
		n, repeat := 1, 1
		if has(step, "concurrent") {
			n = int(number(step["concurrent"]))
		}
		if has(step, "repeat") {
			repeat = int(number(step["repeat"]))
		}
		var results []outcome
		for round := range repeat {
			batch := make([]outcome, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for c := range n {
				wg.Go(func() { batch[c], errs[c] = r.call(step, round*n+c, c) })
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					return err
				}
			}
			results = append(results, batch...)
		}
		return checkBatch(step, results)
	default:
		return fmt.Errorf("unknown op %v", op)
	}
	return nil
}

func (r *runner) call(step object, i, c int) (outcome, error) {
	started := time.Now()
	var o outcome
	var err error
	if step["op"] == "models" {
		o, err = r.models()
	} else {
		request, opts, user, argErr := callArgs(step, i, c)
		if argErr != nil {
			return outcome{}, argErr
		}
		o, err = r.callOnce(step, request, opts)
		o.user = user
	}
	if err != nil {
		e, ok := err.(*Error)
		if !ok {
			return outcome{}, err
		}
		o = outcome{err: e, user: o.user}
	}
	o.elapsed = time.Since(started)
	return o, nil
}

func (r *runner) models() (outcome, error) {
	page, err := r.client.Models.List(context.Background())
	if err != nil {
		return outcome{}, err
	}
	ids := []string{}
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	return outcome{models: ids}, nil
}

func (r *runner) callOnce(step object, request object, opts []option.RequestOption) (outcome, error) {
	ctx := context.Background()
	switch step["op"] {
	case "chat":
		resp, err := r.client.Chat.Completions.New(ctx, ChatCompletionNewParams{ExtraFields: request}, opts...)
		if err != nil {
			return outcome{}, err
		}
		o := outcome{usage: &resp.Usage, meta: metaObject(resp.Switchyard)}
		if len(resp.Choices) > 0 {
			m := resp.Choices[0].Message
			o.text, o.finishReason = m.Content, orNull(resp.Choices[0].FinishReason)
			for _, t := range m.ToolCalls {
				o.toolCalls = append(o.toolCalls, toolCall{id: t.ID, name: t.Function.Name, arguments: t.Function.Arguments})
			}
		}
		return o, nil
	case "embed":
		resp, err := r.client.Embeddings.New(ctx, EmbeddingNewParams{ExtraFields: request}, opts...)
		if err != nil {
			return outcome{}, err
		}
		dims := 0
		if len(resp.Data) > 0 {
			dims = len(resp.Data[0].Embedding)
		}
		return outcome{
			embeddings: []int{len(resp.Data), dims},
			usage:      &CompletionUsage{PromptTokens: resp.Usage.PromptTokens},
			meta:       metaObject(resp.Switchyard),
		}, nil
	}
	options, _ := step["options"].(object)
	abandon, hasAbandon := options["abandon_after_chunks"]
	stream := r.client.Chat.Completions.NewStreaming(ctx, ChatCompletionNewParams{ExtraFields: request}, opts...)
	var o outcome
	a := newAssembler()
	for stream.Next() {
		chunk := stream.Current()
		if chunk.Switchyard != nil && chunk.Switchyard.Restart {
			o.restarted = true
			a = newAssembler()
			continue
		}
		o.chunks++
		a.push(chunk)
		if hasAbandon && float64(o.chunks) == number(abandon) {
			break
		}
	}
	if err := stream.Err(); err != nil {
		e, ok := err.(*Error)
		if !ok {
			return outcome{}, err
		}
		o.err = e
	}
	_ = stream.Close()
	if o.err == nil || o.chunks > 0 {
		o.meta = metaObject(stream.Switchyard())
	}
	a.into(&o)
	return o, nil
}

// runScenario runs one scenario file against a fresh mock session.
func runScenario(t *testing.T, file string) error {
	text, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	doc, err := parseYAML(text)
	if err != nil {
		return err
	}
	var scenario object
	if err := json.Unmarshal(doc, &scenario); err != nil {
		return err
	}
	mock := scenario["mock"]
	if mock == nil {
		mock = object{}
	}
	s := newSession(t, mock)
	client, err := NewClient(context.Background(), WithConfig(substitute(scenario["config"], s.url)))
	if err != nil {
		return fmt.Errorf("client: %w\n  scenario: %v", err, scenario["description"])
	}
	r := &runner{client: client, base: s.url}
	steps, _ := scenario["steps"].([]any)
	for i, step := range steps {
		step := step.(object)
		if err := r.step(step); err != nil {
			_ = client.Close()
			return fmt.Errorf("step %d (%v): %w\n  scenario: %v", i, step["op"], err, scenario["description"])
		}
	}
	_ = client.Close()
	if expect, ok := scenario["expect"].(object); ok {
		if err := checkFinal(expect, s.counters(t), s.requests(t), s.usage(t)); err != nil {
			return fmt.Errorf("%w\n  scenario: %v", err, scenario["description"])
		}
	}
	return nil
}
