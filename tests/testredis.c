/* testredis.c: see testredis.h. */
#include "testredis.h"

#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int testredis_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static bool have_redis_server(void)
{
    return system("command -v redis-server >/dev/null 2>&1") == 0;
}

void testredis_prepare(testredis_t *t, const char *name, const char *password)
{
    if (!have_redis_server()) {
        fprintf(stderr, "SKIP: redis-server is not installed\n");
        skip();
    }
    memset(t, 0, sizeof *t);
    char *dir = testutil_tmpdir(name);
    snprintf(t->dir, sizeof t->dir, "%s", dir);
    free(dir);
    snprintf(t->sock, sizeof t->sock, "%s/redis.sock", t->dir);
    snprintf(t->password, sizeof t->password, "%s", password ? password : "");
    t->port = testredis_free_port();
}

static bool answers_ping(const testredis_t *t)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", t->port, tv);
    if (c == NULL)
        return false;
    bool ok = false;
    if (!c->err) {
        redisSetTimeout(c, tv);
        redisReply *r = NULL;
        if (t->password[0]) {
            r = redisCommand(c, "AUTH %s", t->password);
            if (r)
                freeReplyObject(r);
        }
        r = redisCommand(c, "PING");
        ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
        if (r)
            freeReplyObject(r);
    }
    redisFree(c);
    return ok;
}

void testredis_restart(testredis_t *t)
{
    assert_int_equal(t->pid, 0);
    char port[16], logf[700];
    snprintf(port, sizeof port, "%d", t->port);
    snprintf(logf, sizeof logf, "%s/redis.log", t->dir);
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Dies with the test, whatever happens to it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        const char *argv[32];
        int n = 0;
        argv[n++] = "redis-server";
        argv[n++] = "--port";
        argv[n++] = port;
        argv[n++] = "--bind";
        argv[n++] = "127.0.0.1";
        argv[n++] = "--save";
        argv[n++] = "";
        argv[n++] = "--appendonly";
        argv[n++] = "no";
        argv[n++] = "--daemonize";
        argv[n++] = "no";
        argv[n++] = "--dir";
        argv[n++] = t->dir;
        argv[n++] = "--unixsocket";
        argv[n++] = t->sock;
        argv[n++] = "--unixsocketperm";
        argv[n++] = "700";
        argv[n++] = "--logfile";
        argv[n++] = logf;
        if (t->password[0]) {
            argv[n++] = "--requirepass";
            argv[n++] = t->password;
        }
        argv[n] = NULL;
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    t->pid = pid;
    for (int i = 0; i < 500; i++) { /* up to ~10 s under sanitizers */
        if (answers_ping(t))
            return;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            t->pid = 0;
            fail_msg("redis-server exited at start (see %s)", logf);
        }
        sleep_ms(20);
    }
    testredis_kill(t);
    fail_msg("redis-server did not answer on port %d (see %s)", t->port, logf);
}

void testredis_start(testredis_t *t, const char *name, const char *password)
{
    testredis_prepare(t, name, password);
    testredis_restart(t);
}

void testredis_kill(testredis_t *t)
{
    if (t->pid <= 0)
        return;
    kill(t->pid, SIGKILL);
    int st;
    while (waitpid(t->pid, &st, 0) < 0 && errno == EINTR)
        ;
    t->pid = 0;
}

void testredis_pause(testredis_t *t)
{
    assert_true(t->pid > 0);
    kill(t->pid, SIGSTOP);
}

void testredis_resume(testredis_t *t)
{
    assert_true(t->pid > 0);
    kill(t->pid, SIGCONT);
}

void testredis_stop(testredis_t *t)
{
    testredis_kill(t);
    if (t->dir[0]) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
        int rc = system(cmd);
        (void)rc;
        t->dir[0] = '\0';
    }
}

redisContext *testredis_connect(const testredis_t *t)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", t->port, tv);
    if (c == NULL || c->err)
        fail_msg("connect to test redis on %d: %s", t->port, c ? c->errstr : "out of memory");
    redisSetTimeout(c, tv);
    if (t->password[0]) {
        redisReply *r = redisCommand(c, "AUTH %s", t->password);
        assert_non_null(r);
        freeReplyObject(r);
    }
    return c;
}

redisReply *testredis_cmd(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (r == NULL)
        fail_msg("redis command '%s': %s", fmt, c->errstr);
    return r;
}
