/*
 * testredis.h: a private, real redis-server for tests.
 *
 * The server runs in the foreground as a child of the test process (so it is
 * stopped by pid, and PR_SET_PDEATHSIG kills it if the test dies), on a free
 * loopback port and a unix socket in a fresh directory, without persistence.
 * Tests kill it (SIGKILL), pause it (SIGSTOP/SIGCONT) and restart it on the
 * same port to exercise failure paths. Never a mock.
 */
#ifndef RECSYS_TESTREDIS_H
#define RECSYS_TESTREDIS_H

#include <stdbool.h>
#include <sys/types.h>
#include <hiredis/hiredis.h>

typedef struct testredis {
    pid_t pid;          /* 0 when not running */
    int port;
    char dir[512];
    char sock[600];     /* unix socket path */
    char password[64];  /* "" = none */
} testredis_t;

/* A free TCP port on 127.0.0.1 (bound and released: a small race, fine here). */
int testredis_free_port(void);
/* Starts a server (password may be NULL) and waits until it answers PING.
 * Skips the calling cmocka test when redis-server is not installed; fails it
 * when the server does not come up. name names the temp directory. */
void testredis_start(testredis_t *t, const char *name, const char *password);
/* Prepares t (port, dir) without starting the server, for "Redis is down at
 * start" tests; testredis_restart() starts it later. */
void testredis_prepare(testredis_t *t, const char *name, const char *password);
/* Starts again on the same port, directory and password (after kill/stop). */
void testredis_restart(testredis_t *t);
/* SIGKILL and reap; no-op when not running. */
void testredis_kill(testredis_t *t);
void testredis_pause(testredis_t *t);
void testredis_resume(testredis_t *t);
/* Kills the server and removes its directory. */
void testredis_stop(testredis_t *t);
/* A blocking connection for checking what the code under test wrote (AUTH
 * done); fails the test when it cannot connect. */
redisContext *testredis_connect(const testredis_t *t);
/* Runs one command on a blocking connection and returns the reply (caller
 * frees with freeReplyObject); fails the test on a connection error. */
redisReply *testredis_cmd(redisContext *c, const char *fmt, ...);

#endif
