/* base.c — the allocation hook, arenas, growable vectors and ice().
 *
 * Every byte the compiler allocates goes through one realloc-shaped hook so a
 * test can make allocation fail (LLVM's own allocations and stdio's FILE
 * structures are the exceptions: they do not come from texc's code).  IR memory lives in arenas freed all at once, so passes
 * never free nodes one by one. */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "ir.h"

static TexReallocFn alloc_hook = realloc;

void tex_set_allocator(TexReallocFn fn) { alloc_hook = fn ? fn : realloc; }

static _Noreturn void out_of_memory(size_t n) {
  fprintf(stderr, "texc: out of memory (allocating %zu bytes)\n", n);
  exit(TEXC_EXIT_NOMEM);
}

void *tex_malloc(size_t n) {
  void *p = alloc_hook(NULL, n ? n : 1);
  if (!p) out_of_memory(n);
  return p;
}

void *tex_calloc(size_t n, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) out_of_memory(SIZE_MAX);
  void *p = tex_malloc(bytes);
  memset(p, 0, bytes);
  return p;
}

void *tex_realloc(void *p, size_t n) {
  void *q = alloc_hook(p, n ? n : 1);
  if (!q) out_of_memory(n); /* p is still valid, and still owned by the caller */
  return q;
}

void tex_free(void *p) { free(p); }

char *tex_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(tex_malloc(n), s, n);
}

/* ---- memory streams ----------------------------------------------------- */

typedef struct MemStream {
  char **buf;
  size_t *len;
  size_t cap;
  struct MemStream *next, **prev;
} MemStream;

/* The open streams.  A cookie is reachable only through its FILE, which
 * LeakSanitizer cannot see into: when out_of_memory exits in the middle of
 * a write, this list keeps the cookie from being reported as a leak. */
static MemStream *open_streams;

static ssize_t memstream_write(void *cookie, const char *data, size_t n) {
  MemStream *ms = cookie;
  size_t need = *ms->len + n + 1;
  if (need > ms->cap) {
    while (ms->cap < need) ms->cap *= 2;
    *ms->buf = tex_realloc(*ms->buf, ms->cap);
  }
  memcpy(*ms->buf + *ms->len, data, n);
  *ms->len += n;
  (*ms->buf)[*ms->len] = 0;
  return (ssize_t)n;
}

static int memstream_close(void *cookie) {
  MemStream *ms = cookie;
  *ms->prev = ms->next;
  if (ms->next) ms->next->prev = ms->prev;
  tex_free(ms);
  return 0;
}

FILE *tex_memstream(char **buf, size_t *len) { /* not thread-safe: the compiler's phases run on one thread */
  MemStream *ms = tex_malloc(sizeof *ms);
  *ms = (MemStream){buf, len, 256, open_streams, &open_streams};
  if (open_streams) open_streams->prev = &ms->next;
  open_streams = ms;
  *buf = tex_malloc(ms->cap);
  **buf = 0;
  *len = 0;
  cookie_io_functions_t io = {.write = memstream_write, .close = memstream_close};
  FILE *f = fopencookie(ms, "w", io);
  if (!f) out_of_memory(sizeof(MemStream)); /* libc could not allocate the FILE */
  setvbuf(f, NULL, _IONBF, 0);
  return f;
}

_Noreturn void ice_at(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "texc: internal compiler error at %s:%d: ", file, line);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nplease report this with the .tex file that caused it\n");
  va_end(ap);
  abort();
}

/* ---- arenas ------------------------------------------------------------- */

struct ArenaChunk {
  ArenaChunk *next;
  size_t size;
  _Alignas(16) unsigned char data[];
};

enum { ARENA_CHUNK = 64 * 1024 };

void *arena_alloc(Arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (!a->head || a->used + n > a->head->size) {
    size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    ArenaChunk *c = tex_malloc(sizeof(ArenaChunk) + size);
    c->next = a->head;
    c->size = size;
    a->head = c;
    a->used = 0;
  }
  void *p = a->head->data + a->used;
  a->used += n;
  memset(p, 0, n);
  return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = arena_alloc(a, (size_t)n + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return p;
}

void arena_free(Arena *a) {
  for (ArenaChunk *c = a->head, *next; c; c = next) {
    next = c->next;
    tex_free(c);
  }
  a->head = NULL;
  a->used = 0;
}

bool tex_in_list(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; p && *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && strncmp(p, name, n) == 0) return true;
    p = end ? end + 1 : NULL;
  }
  return false;
}

/* ---- vectors ------------------------------------------------------------ */

void vec_push(PtrVec *v, void *p) {
  if (v->len == v->cap) {
    v->cap = v->cap ? v->cap * 2 : 16;
    v->items = tex_realloc(v->items, sizeof(void *) * (size_t)v->cap);
  }
  v->items[v->len++] = p;
}

void vec_free(PtrVec *v) {
  tex_free(v->items);
  v->items = NULL;
  v->len = v->cap = 0;
}
