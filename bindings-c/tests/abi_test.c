/* The C ABI exercised from C (make test-c, under AddressSanitizer/LeakSanitizer): a
 * client on the mock provider, a call, a stream read to its end, embeddings, models, a
 * canceled call, a stream closed early, bad input (NULL, invalid UTF-8, invalid JSON) as
 * errors with a kind, a guardrail's refusal (policy_violation naming its rule), a refused
 * reload, close, free, exit.
 * Usage: abi_test CONFIG_JSON (a config whose model `chat` answers, `slow` hangs, and
 * whose guardrails deny "top secret" as the rule `top-secret`). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchyard.h"

static int failures = 0;
static int passed = 0;

#define CHECK(cond, what)                                                \
  do {                                                                   \
    if (cond) {                                                          \
      passed++;                                                          \
    } else {                                                             \
      failures++;                                                        \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what);     \
    }                                                                    \
  } while (0)

/* One call's outcome, filled by the callback on an engine thread. */
typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t done_cond;
  int done;
  SyStatus status;
  char *json;
  SyStream *stream;
} Outcome;

static void outcome_init(Outcome *o) {
  pthread_mutex_init(&o->lock, NULL);
  pthread_cond_init(&o->done_cond, NULL);
  o->done = 0;
  o->json = NULL;
  o->stream = NULL;
}

static void outcome_destroy(Outcome *o) {
  free(o->json);
  pthread_mutex_destroy(&o->lock);
  pthread_cond_destroy(&o->done_cond);
}

static void on_done(size_t user_data, SyStatus status, const char *json, size_t len, SyStream *stream) {
  Outcome *o = (Outcome *)user_data;
  pthread_mutex_lock(&o->lock);
  o->status = status;
  o->json = malloc(len + 1);
  memcpy(o->json, json, len + 1); /* borrowed: copied, NUL included */
  o->stream = stream;
  o->done++;
  pthread_cond_signal(&o->done_cond);
  pthread_mutex_unlock(&o->lock);
}

static void wait_for(Outcome *o) {
  pthread_mutex_lock(&o->lock);
  while (!o->done) pthread_cond_wait(&o->done_cond, &o->lock);
  pthread_mutex_unlock(&o->lock);
}

/* Runs a call to its callback; returns its status (the outcome keeps the JSON). */
typedef SyCall *(*Starter)(const SyClient *, const char *, size_t, const char *, size_t, SyCallback, size_t);

static SyStatus run(Starter start, const SyClient *client, const char *request, size_t len, Outcome *o) {
  outcome_init(o);
  SyCall *call = start(client, request, len, NULL, 0, on_done, (size_t)o);
  wait_for(o);
  sy_call_free(call);
  return o->status;
}

static int has(const char *json, const char *needle) { return json && strstr(json, needle) != NULL; }

static const char HI[] = "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

static void test_calls(SyClient *client) {
  Outcome o;
  CHECK(run(sy_chat, client, HI, strlen(HI), &o) == SY_STATUS_OK, "chat succeeds");
  CHECK(has(o.json, "\"content\":\"hello from the mock\""), "chat answer has the mock's content");
  CHECK(has(o.json, "\"switchyard\":{"), "chat answer has the call's meta");
  CHECK(o.done == 1 && o.stream == NULL, "one callback, no stream");
  outcome_destroy(&o);

  const char embed[] = "{\"model\":\"embed\",\"input\":[\"a\",\"b\"],\"dimensions\":4}";
  CHECK(run(sy_embed, client, embed, strlen(embed), &o) == SY_STATUS_OK, "embed succeeds");
  CHECK(has(o.json, "\"embedding\":["), "embedding vectors");
  outcome_destroy(&o);

  char *models = NULL;
  CHECK(sy_models(client, &models) == SY_STATUS_OK, "models");
  CHECK(has(models, "\"id\":\"chat\"") && has(models, "\"id\":\"slow\""), "models lists the aliases");
  sy_string_free(models);

  char *metrics = NULL;
  CHECK(sy_metrics(client, &metrics) == SY_STATUS_OK && metrics != NULL, "metrics");
  sy_string_free(metrics);
}

static void test_stream(SyClient *client) {
  Outcome o;
  CHECK(run(sy_chat_stream, client, HI, strlen(HI), &o) == SY_STATUS_OK, "stream opens");
  SyStream *stream = o.stream;
  CHECK(stream != NULL, "the callback hands over a stream");
  CHECK(has(o.json, "\"object\":\"chat.completion.chunk\""), "and the first chunk with it");
  outcome_destroy(&o);
  int chunks = 1;
  for (;;) {
    Outcome next;
    outcome_init(&next);
    SyCall *call = sy_stream_next(stream, on_done, (size_t)&next);
    wait_for(&next);
    sy_call_free(call);
    int end = next.status != SY_STATUS_OK || strcmp(next.json, "null") == 0;
    if (!end) chunks++;
    CHECK(next.status == SY_STATUS_OK, "each read succeeds");
    outcome_destroy(&next);
    if (end) break;
  }
  CHECK(chunks >= 3, "several chunks");
  char *meta = NULL;
  CHECK(sy_stream_meta(stream, &meta) == SY_STATUS_OK && has(meta, "\"deployment\":\"oa/gpt-4o-mini\""), "stream meta");
  sy_string_free(meta);
  sy_stream_free(stream);

  /* A stream closed after one chunk and freed while a read is in flight. */
  CHECK(run(sy_chat_stream, client, HI, strlen(HI), &o) == SY_STATUS_OK, "second stream opens");
  stream = o.stream;
  outcome_destroy(&o);
  sy_stream_close(stream);
  Outcome after;
  outcome_init(&after);
  SyCall *call = sy_stream_next(stream, on_done, (size_t)&after);
  sy_stream_free(stream);
  wait_for(&after);
  sy_call_free(call);
  CHECK(after.status == SY_STATUS_OK && strcmp(after.json, "null") == 0, "a closed stream reads as ended");
  outcome_destroy(&after);
}

static void test_cancel(SyClient *client) {
  const char slow[] = "{\"model\":\"slow\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  Outcome o;
  outcome_init(&o);
  SyCall *call = sy_chat(client, slow, strlen(slow), NULL, 0, on_done, (size_t)&o);
  CHECK(call != NULL, "a call returns its cancel handle");
  sy_call_cancel(call);
  sy_call_cancel(call); /* twice: harmless */
  wait_for(&o);
  sy_call_free(call);
  CHECK(o.status == SY_STATUS_ERROR && has(o.json, "\"kind\":\"canceled\""), "a canceled call reports canceled");
  outcome_destroy(&o);
}

static void test_bad_input(SyClient *client) {
  Outcome o;
  const char bad_utf8[] = "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}";
  CHECK(run(sy_chat, client, bad_utf8, strlen(bad_utf8), &o) == SY_STATUS_ERROR, "invalid UTF-8 fails");
  CHECK(has(o.json, "\"kind\":\"bad_request\"") && has(o.json, "\"field\":\"request\""), "invalid UTF-8 is bad_request on request");
  outcome_destroy(&o);

  const char secret[] = "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"a Top Secret plan\"}]}";
  CHECK(run(sy_chat, client, secret, strlen(secret), &o) == SY_STATUS_ERROR, "a denied request fails");
  CHECK(has(o.json, "\"kind\":\"policy_violation\"") && has(o.json, "\"rule\":\"top-secret\"") &&
            has(o.json, "\"retryable\":false"),
        "a denied request is policy_violation naming its rule");
  outcome_destroy(&o);

  const char bad_json[] = "{\"model\":";
  CHECK(run(sy_chat, client, bad_json, strlen(bad_json), &o) == SY_STATUS_ERROR && has(o.json, "bad_request"), "invalid JSON");
  outcome_destroy(&o);

  const char no_messages[] = "{\"model\":\"chat\",\"messages\":[]}";
  CHECK(run(sy_chat, client, no_messages, strlen(no_messages), &o) == SY_STATUS_ERROR && has(o.json, "\"field\":\"messages\""), "empty messages");
  outcome_destroy(&o);

  CHECK(run(sy_chat, NULL, HI, strlen(HI), &o) == SY_STATUS_ERROR && has(o.json, "\"field\":\"client\""), "NULL client");
  outcome_destroy(&o);

  CHECK(run(sy_chat, client, NULL, 5, &o) == SY_STATUS_ERROR && has(o.json, "\"field\":\"request\""), "NULL request with a length");
  outcome_destroy(&o);

  CHECK(sy_chat(client, HI, strlen(HI), NULL, 0, NULL, 0) == NULL, "no callback: refused");

  /* A call that ends within the inline window calls back before sy_chat returns. */
  outcome_init(&o);
  SyCall *inline_call = sy_chat(client, no_messages, strlen(no_messages), NULL, 0, on_done, (size_t)&o);
  CHECK(inline_call == NULL && o.done == 1, "a call refused at once calls back on the calling thread");
  outcome_destroy(&o);

  char *out = NULL;
  CHECK(sy_models(NULL, &out) == SY_STATUS_ERROR && has(out, "bad_request"), "models of NULL");
  sy_string_free(out);
  const char bad_config[] = "{\"version\":1,\"models\":{\"m\":{\"deployments\":[{\"provider\":\"nope\",\"model\":\"x\"}]}}}";
  CHECK(sy_reload(client, bad_config, strlen(bad_config), &out) == SY_STATUS_ERROR && has(out, "\"kind\":\"config\""), "a bad reload is refused");
  sy_string_free(out);
  CHECK(sy_models(client, &out) == SY_STATUS_OK && has(out, "\"id\":\"slow\""), "the old config stays");
  sy_string_free(out);
  const char yaml[] = "a: [1, two]\n";
  CHECK(sy_parse_yaml(yaml, strlen(yaml), &out) == SY_STATUS_OK && strcmp(out, "{\"a\":[1,\"two\"]}") == 0, "YAML as JSON");
  sy_string_free(out);
}

static void test_open_errors(void) {
  SyClient *client = (SyClient *)1;
  char *error = NULL;
  const char bad[] = "{\"config\":{\"version\":1,\"models\":\"nope\"}}";
  CHECK(sy_client_open(bad, strlen(bad), &client, &error) == SY_STATUS_ERROR, "a bad config fails to open");
  CHECK(client == NULL && has(error, "\"kind\":\"config\""), "a config error, no client");
  sy_string_free(error);
  const char unknown[] = "{\"cofig\":\"x.yaml\"}";
  CHECK(sy_client_open(unknown, strlen(unknown), &client, &error) == SY_STATUS_ERROR && has(error, "bad_request"), "an unknown spec key");
  sy_string_free(error);
  const char utf8[] = "{\"config\":\"\xc3\x28\"}";
  CHECK(sy_client_open(utf8, strlen(utf8), &client, &error) == SY_STATUS_ERROR && has(error, "\"field\":\"spec\""), "invalid UTF-8 spec");
  sy_string_free(error);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CONFIG_JSON\n", argv[0]);
    return 2;
  }
  CHECK(strlen(sy_version()) > 0, "a version");
  test_open_errors();
  char *spec = malloc(strlen(argv[1]) + 16);
  sprintf(spec, "{\"config\":%s}", argv[1]);
  SyClient *client = NULL;
  char *error = NULL;
  SyStatus opened = sy_client_open(spec, strlen(spec), &client, &error);
  free(spec);
  if (opened != SY_STATUS_OK) {
    fprintf(stderr, "cannot open: %s\n", error);
    sy_string_free(error);
    return 1;
  }
  test_calls(client);
  test_stream(client);
  test_cancel(client);
  test_bad_input(client);

  Outcome closed;
  outcome_init(&closed);
  SyCall *call = sy_client_close(client, on_done, (size_t)&closed);
  wait_for(&closed);
  sy_call_free(call);
  CHECK(closed.status == SY_STATUS_OK, "close");
  outcome_destroy(&closed);
  Outcome late;
  CHECK(run(sy_chat, client, HI, strlen(HI), &late) == SY_STATUS_ERROR && has(late.json, "\"kind\":\"unavailable\""), "a closed client refuses calls");
  outcome_destroy(&late);
  sy_client_free(client);
  sy_at_exit();
  printf("%d passed, %d failed\n", passed, failures);
  return failures == 0 ? 0 : 1;
}
