/* error.c — the runtime's error message: one thread-local buffer per thread.
 *
 * Generated functions return a TexStatus; the text that goes with it lives
 * here so the return value stays a plain int (C callers, ctypes, DLPack users).
 * Thread-local so that concurrent calls on different threads never clobber each
 * other's message: this buffer is what makes generated functions reentrant.
 * The message is written only on failure; a successful call leaves it as it
 * was, so it is meaningful only right after a nonzero return (like errno).
 */
#include "texrt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Long enough for a message that prints a shape expression, both values and
 * the binding argument; longer messages are cut and end in "...". */
#define TEX_MSG_LEN 1024

static _Thread_local char last_message[TEX_MSG_LEN];

const char *texrt_last_error(void) { return last_message; }

/* fmt's arguments must not point into the buffer itself (vsnprintf forbids
 * overlap): callers that wrap a previous message copy it out first. */
int texrt_fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(last_message, sizeof last_message, fmt, ap);
  va_end(ap);
  if (n < 0) {
    snprintf(last_message, sizeof last_message, "%s", tex_status_text(code));
  } else if ((size_t)n >= sizeof last_message) {
    memcpy(last_message + sizeof last_message - 4, "...", 4);
  }
  return code;
}
