/* texc_fault.c — texc with allocation-failure injection.
 *
 *   texc_fault --sweep TEXC-ARGS...   fail the 1st, 2nd, ... allocation of a
 *                                     compile, one forked child per N, until a
 *                                     compile finishes without reaching N
 *   TEXC_FAIL_ALLOC=N texc_fault TEXC-ARGS...   one run failing the Nth (to
 *                                     reproduce a failure the sweep reports)
 *
 * A child whose allocation failed must exit with TEXC_EXIT_NOMEM and say
 * "texc: out of memory"; one whose allocations all succeeded must exit as
 * the first run, with no failure, did (0, or 1 for a program with errors).
 * Under SAN=1 LeakSanitizer checks every child at exit; a leak report, any
 * other sanitizer report, or a crash fails the check.
 * The whole texc runs in the child: driver/main.c is compiled with
 * -Dmain=texc_main for this binary. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ir.h"

int texc_main(int argc, char **argv);

/* Shared with the children, so the parent learns whether the child's
 * failure point was reached. */
typedef struct Shared {
  atomic_long count;
  atomic_int failed;
} Shared;

static Shared *shared;
static long fail_at;

static void *failing_realloc(void *p, size_t n) {
  long k = atomic_fetch_add(&shared->count, 1) + 1;
  if (k == fail_at) {
    atomic_store(&shared->failed, 1);
    return NULL;
  }
  return realloc(p, n);
}

/* Runs texc with allocation `at` failing (0: none) in a child whose stderr
 * goes to errfile; returns its wait status. */
static int run_child(long at, int argc, char **argv, const char *errfile) {
  atomic_store(&shared->count, 0);
  atomic_store(&shared->failed, 0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    perror("texc_fault: fork");
    exit(2);
  }
  if (pid == 0) {
    if (!freopen(errfile, "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(98);
    fail_at = at;
    tex_set_allocator(failing_realloc);
    exit(texc_main(argc, argv));
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    ;
  return status;
}

static void show(const char *errfile) {
  FILE *f = fopen(errfile, "r");
  char line[512];
  for (int n = 0; f && n < 30 && fgets(line, sizeof line, f); n++) fprintf(stderr, "    %s", line);
  if (f) fclose(f);
}

static bool contains(const char *errfile, const char *needle) {
  FILE *f = fopen(errfile, "r");
  char line[4096];
  bool found = false;
  while (f && !found && fgets(line, sizeof line, f)) found = strstr(line, needle) != NULL;
  if (f) fclose(f);
  return found;
}

/* One child's verdict: NULL if it behaved, else why not. */
static const char *judge(int status, int clean, const char *errfile) {
  if (WIFSIGNALED(status)) return "killed by a signal";
  if (contains(errfile, "Sanitizer") || contains(errfile, "runtime error:")) return "a sanitizer report";
  int rc = WEXITSTATUS(status);
  if (!atomic_load(&shared->failed)) return rc == clean ? NULL : "every allocation granted, but not the first run's status";
  if (rc != TEXC_EXIT_NOMEM) return "the failed allocation did not give TEXC_EXIT_NOMEM";
  if (!contains(errfile, "texc: out of memory")) return "no 'texc: out of memory' message";
  return NULL;
}

static int sweep(int argc, char **argv) {
  char errfile[] = "/tmp/texc-fault-XXXXXX";
  int fd = mkstemp(errfile);
  if (fd < 0) return perror("texc_fault: mkstemp"), 2;
  close(fd);
  int bad = 0, status = run_child(0, argc, argv, errfile);
  int clean = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  long n = 1;
  if ((clean != TEXC_EXIT_OK && clean != TEXC_EXIT_ERROR) || contains(errfile, "Sanitizer")) {
    fprintf(stderr, "texc_fault: the run without failures gave status %d; stderr:\n", clean);
    show(errfile);
    bad = 1;
    n = 0;
  }
  for (; n > 0; n++) {
    status = run_child(n, argc, argv, errfile);
    const char *why = judge(status, clean, errfile);
    if (why) {
      fprintf(stderr, "texc_fault: allocation %ld failing: %s (status %d); stderr:\n", n, why,
              WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
      show(errfile);
      if (++bad == 5) break;
    }
    if (!atomic_load(&shared->failed)) break; /* finished before reaching n */
  }
  unlink(errfile);
  printf("texc_fault: %ld allocations swept, %d bad:", n - 1, bad);
  for (int i = 0; i < argc; i++) printf(" %s", argv[i]);
  printf("\n");
  return bad ? 1 : 0;
}

int main(int argc, char **argv) {
  shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return perror("texc_fault: mmap"), 2;
  if (argc > 1 && strcmp(argv[1], "--sweep") == 0) {
    argv[1] = argv[0]; /* texc's argv: the program name, then its arguments */
    return sweep(argc - 1, argv + 1);
  }
  const char *env = getenv("TEXC_FAIL_ALLOC");
  fail_at = env ? atol(env) : 0;
  tex_set_allocator(failing_realloc);
  return texc_main(argc, argv);
}
