/* A chat completion from C through libswitchyard_c: open a client from a config, send one
 * request, wait for its callback, print the answer's JSON, close.
 * Build: cc -I bindings-c/include chat.c -L target/debug -Wl,-rpath,target/debug -lswitchyard_c -lpthread
 * Run:   ./a.out '{"version":1, ...config...}'   (docs/sdk/c.md) */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchyard.h"

/* What the callback hands back to main. */
typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int done;
  SyStatus status;
  char *json;
} Answer;

static void on_answer(size_t user_data, SyStatus status, const char *json, size_t len, SyStream *stream) {
  (void)stream; /* only sy_chat_stream hands one over */
  Answer *a = (Answer *)user_data;
  pthread_mutex_lock(&a->lock);
  a->status = status;
  a->json = strndup(json, len); /* borrowed until we return */
  a->done = 1;
  pthread_cond_signal(&a->cond);
  pthread_mutex_unlock(&a->lock);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CONFIG_JSON\n", argv[0]);
    return 2;
  }
  size_t spec_len = strlen(argv[1]) + 16;
  char *spec = malloc(spec_len);
  snprintf(spec, spec_len, "{\"config\":%s}", argv[1]);
  SyClient *client = NULL;
  char *error = NULL;
  if (sy_client_open(spec, strlen(spec), &client, &error) != SY_STATUS_OK) {
    fprintf(stderr, "cannot open: %s\n", error);
    sy_string_free(error);
    free(spec);
    return 1;
  }
  free(spec);

  const char request[] = "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello\"}]}";
  Answer answer = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, SY_STATUS_OK, NULL};
  SyCall *call = sy_chat(client, request, strlen(request), NULL, 0, on_answer, (size_t)&answer);
  pthread_mutex_lock(&answer.lock);
  while (!answer.done) pthread_cond_wait(&answer.cond, &answer.lock);
  pthread_mutex_unlock(&answer.lock);
  sy_call_free(call);
  printf("%s: %s\n", answer.status == SY_STATUS_OK ? "answer" : "error", answer.json);
  int code = answer.status == SY_STATUS_OK ? 0 : 1;
  free(answer.json);

  Answer closed = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, SY_STATUS_OK, NULL};
  call = sy_client_close(client, on_answer, (size_t)&closed);
  pthread_mutex_lock(&closed.lock);
  while (!closed.done) pthread_cond_wait(&closed.cond, &closed.lock);
  pthread_mutex_unlock(&closed.lock);
  sy_call_free(call);
  free(closed.json);
  sy_client_free(client);
  sy_at_exit();
  return code;
}
