/*
 * recsys-data: inspect a dataset the way the services will load it, and
 * export the gateway's feedback stream for retraining.
 *
 *   recsys-data info  --data DIR            layout, counts, ranges, load time
 *   recsys-data items --data DIR [--limit N] items as TSV
 *   recsys-data export-feedback --out FILE.csv [--since ID] [--allow-gap] [redis options]
 *
 * info and items go through dataset_load() exactly as the workers do, so a
 * file that this tool rejects is one the services reject, with the same
 * file:line. export-feedback pages the stream (gw_feedback.h) with plain
 * blocking hiredis (an offline tool: no event loop) and writes
 * user_id,item_id,rating,timestamp,implicit, the format of --extra-ratings
 * (implicit 1: an event without a rating, given --implicit-rating or
 * --dislike-rating; the merge never lets such a row replace a rating).
 *
 * Gaps: the stream is capped (XADD MAXLEN ~), so entries after --since can
 * be trimmed before anyone exported them. Every page is read in one
 * MULTI/EXEC with XINFO STREAM, so the page and the stream's state are one
 * snapshot; the export stops (nothing written) when entries after the
 * cursor are gone, unless --allow-gap (then a warning). See check_gap().
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/base/config.h"
#include "common/base/clock.h"
#include "common/data/dataset.h"
#include "common/base/log.h"

static const cfg_option_t tool_options[] = {
    {"limit", CFG_INT, "0", "items: print at most this many items (0: all).", 0, 1e12},
    {"search", CFG_STRING, NULL, "items: only items whose title contains this (case-insensitive).",
     0, 0},
    CFG_END,
};

/* export-feedback: the same Redis option names as the gateway's. */
static const cfg_option_t export_options[] = {
    {"redis-host", CFG_STRING, "127.0.0.1", "export-feedback: Redis host name or address.", 0, 0},
    {"redis-port", CFG_INT, "6379", "export-feedback: Redis TCP port.", 1, 65535},
    {"redis-unix", CFG_STRING, NULL,
     "export-feedback: Redis unix socket path; when set, used instead of host and port.", 0, 0},
    {"redis-password", CFG_STRING, NULL, "export-feedback: password sent with AUTH (empty: none).",
     0, 0},
    {"redis-db", CFG_INT, "0", "export-feedback: Redis database number.", 0, 1000000},
    {"redis-timeout-ms", CFG_INT, "5000", "export-feedback: deadline to connect and per command, ms.",
     1, 3600000},
    {"stream", CFG_STRING, "recsys:feedback",
     "export-feedback: the gateway's feedback stream (<feedback-key-prefix>:feedback).", 0, 0},
    {"since", CFG_STRING, NULL,
     "export-feedback: export only entries strictly after this stream id (the last_id a previous "
     "export printed), to resume; empty or 0-0: from the start. Entries after it that the stream "
     "has already trimmed stop the export (see --allow-gap).",
     0, 0},
    {"allow-gap", CFG_BOOL, "false",
     "export-feedback: when entries after --since (or, without it, any entries) were trimmed or "
     "deleted before being exported, warn on stderr and export what is left instead of failing.",
     0, 0},
    {"out", CFG_STRING, NULL,
     "export-feedback: CSV written (user_id,item_id,rating,timestamp,implicit; implicit 1: an event "
     "without a rating, given --implicit-rating or --dislike-rating, which never replaces a rating "
     "when merged with --extra-ratings).",
     0, 0},
    {"append", CFG_BOOL, "false",
     "export-feedback: keep the rows already in --out (a previous export) and add the new ones "
     "after them, so with --since the file stays the whole history.",
     0, 0},
    {"implicit-rating", CFG_DOUBLE, "4",
     "export-feedback: rating given to an event without one (view, click, like, ...); 0 skips them.",
     0, 1e6},
    {"dislike-rating", CFG_DOUBLE, "1",
     "export-feedback: rating given to a dislike without one; 0 skips them.", 0, 1e6},
    CFG_END,
};

#define EXPORT_PAGE 10000
#define EXPORT_HEADER "user_id,item_id,rating,timestamp,implicit\n"
#define EXPORT_HEADER_V1 "user_id,item_id,rating,timestamp\n" /* before the implicit column */

typedef struct export_counts {
    unsigned long long entries, written, skipped;
    char last_id[64];
    bool gap; /* entries were lost (only with --allow-gap) */
} export_counts_t;

/* Writes one CSV field, quoted when it has to be (RFC 4180). */
static void put_csv(FILE *f, const char *s, size_t len)
{
    if (strcspn(s, ",\"\r\n") >= len) {
        fwrite(s, 1, len, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

static const redisReply *entry_field(const redisReply *kv, const char *name)
{
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && strcmp(kv->element[i]->str, name) == 0 &&
            kv->element[i + 1]->type == REDIS_REPLY_STRING)
            return kv->element[i + 1];
    return NULL;
}

/* One stream entry ([id, [field, value, ...]]) to one CSV row (or none). */
static int export_entry(const redisReply *e, FILE *out, double implicit, double dislike,
                        export_counts_t *n, err_t *err)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
        return err_set(err, "stream entry after %s: not an [id, fields] pair",
                       n->last_id[0] ? n->last_id : "the start");
    const char *id = e->element[0]->str;
    snprintf(n->last_id, sizeof n->last_id, "%s", id);
    const redisReply *kv = e->element[1];
    const redisReply *user = entry_field(kv, "user"), *item = entry_field(kv, "item");
    const redisReply *rating = entry_field(kv, "rating"), *type = entry_field(kv, "type");
    const redisReply *ts = entry_field(kv, "ts");
    if (user == NULL || user->len == 0 || item == NULL || item->len == 0)
        return err_set(err, "stream entry %s: missing or empty user/item field", id);
    double r = 0;
    if (rating) {
        char *end;
        errno = 0;
        r = strtod(rating->str, &end);
        if (end == rating->str || *end != '\0' || errno != 0 || !(r == r))
            return err_set(err, "stream entry %s: bad rating '%.40s'", id, rating->str);
    }
    long long ms;
    char *end;
    errno = 0;
    if (ts) {
        ms = strtoll(ts->str, &end, 10);
        if (end == ts->str || *end != '\0' || errno != 0)
            return err_set(err, "stream entry %s: bad ts '%.40s'", id, ts->str);
    } else {
        ms = strtoll(id, NULL, 10); /* the id's time part, ms */
    }
    n->entries++;
    int implicit_row = r == 0; /* no rating: the value below is ours */
    if (r == 0)
        r = type && strcmp(type->str, "dislike") == 0 ? dislike : implicit;
    if (r == 0) {
        n->skipped++;
        return 0;
    }
    put_csv(out, user->str, user->len);
    fputc(',', out);
    put_csv(out, item->str, item->len);
    fprintf(out, ",%.9g,%lld,%d\n", r, ms / 1000, implicit_row);
    n->written++;
    return 0;
}

static redisContext *export_connect(const cfg_t *cfg, err_t *err)
{
    long long tmo = cfg_int(cfg, "redis-timeout-ms");
    struct timeval tv = {(time_t)(tmo / 1000), (suseconds_t)(tmo % 1000) * 1000};
    const char *unix_path = cfg_str(cfg, "redis-unix");
    const char *host = cfg_str(cfg, "redis-host");
    int port = (int)cfg_int(cfg, "redis-port");
    char where[300];
    redisContext *c;
    if (unix_path && unix_path[0]) {
        snprintf(where, sizeof where, "redis %s", unix_path);
        c = redisConnectUnixWithTimeout(unix_path, tv);
    } else {
        snprintf(where, sizeof where, "redis %s:%d", host ? host : "", port);
        c = redisConnectWithTimeout(host ? host : "127.0.0.1", port, tv);
    }
    if (c == NULL) {
        err_set(err, "%s: out of memory", where);
        return NULL;
    }
    if (c->err) {
        err_set(err, "%s: cannot connect: %s", where, c->errstr);
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    const char *pw = cfg_str(cfg, "redis-password");
    long long db = cfg_int(cfg, "redis-db");
    redisReply *rep = NULL;
    if (pw && pw[0])
        rep = redisCommand(c, "AUTH %s", pw);
    if ((pw && pw[0]) && (rep == NULL || rep->type == REDIS_REPLY_ERROR)) {
        err_set(err, "%s: AUTH: %s", where, rep ? rep->str : c->errstr);
        goto fail;
    }
    freeReplyObject(rep);
    rep = NULL;
    if (db != 0 && ((rep = redisCommand(c, "SELECT %lld", db)) == NULL || rep->type == REDIS_REPLY_ERROR)) {
        err_set(err, "%s: SELECT %lld: %s", where, db, rep ? rep->str : c->errstr);
        goto fail;
    }
    freeReplyObject(rep);
    return c;
fail:
    freeReplyObject(rep);
    redisFree(c);
    return NULL;
}

/* ---- stream ids, XINFO STREAM and the gap check */

typedef struct stream_id {
    unsigned long long ms, seq;
} stream_id_t;

/* "MS-SEQ" or "MS" (= MS-0, as Redis reads a range start); 0 when valid. */
static int stream_id_parse(const char *s, stream_id_t *id)
{
    char *end;
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    id->ms = strtoull(s, &end, 10);
    id->seq = 0;
    if (errno == 0 && *end == '-') {
        const char *q = end + 1;
        if (*q < '0' || *q > '9')
            return -1;
        id->seq = strtoull(q, &end, 10);
    }
    return errno != 0 || *end != '\0' ? -1 : 0;
}

static int stream_id_cmp(stream_id_t a, stream_id_t b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    return a.seq < b.seq ? -1 : a.seq > b.seq;
}

/* What XINFO STREAM says; deleted = entries-added - length (-1: Redis
 * before 7.0 reports no entries-added), max_deleted only from 7.0 on. */
typedef struct stream_info {
    bool exists, has_first, has_max_deleted;
    stream_id_t first, last_generated, max_deleted;
    char first_str[64], max_deleted_str[64];
    long long length, added, deleted;
} stream_info_t;

static const redisReply *map_get(const redisReply *m, const char *key)
{
    for (size_t i = 0; i + 1 < m->elements; i += 2)
        if (m->element[i]->type == REDIS_REPLY_STRING && strcmp(m->element[i]->str, key) == 0)
            return m->element[i + 1];
    return NULL;
}

static int id_field(const redisReply *v, const char *what, stream_id_t *id, char *str, size_t strsz, err_t *err)
{
    if (v == NULL || v->type != REDIS_REPLY_STRING || stream_id_parse(v->str, id) != 0)
        return err_set(err, "XINFO STREAM: bad %s%s%.40s", what, v && v->type == REDIS_REPLY_STRING ? " " : "",
                       v && v->type == REDIS_REPLY_STRING ? v->str : "");
    if (str)
        snprintf(str, strsz, "%s", v->str);
    return 0;
}

static int parse_xinfo(const redisReply *r, stream_info_t *si, err_t *err)
{
    memset(si, 0, sizeof *si);
    si->deleted = -1;
    if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "no such key") != NULL)
        return 0; /* no stream (yet, or any more) */
    if (r->type == REDIS_REPLY_ERROR)
        return err_set(err, "XINFO STREAM: %s", r->str);
    if (r->type != REDIS_REPLY_ARRAY)
        return err_set(err, "XINFO STREAM: unexpected reply type %d", r->type);
    si->exists = true;
    const redisReply *len = map_get(r, "length"), *added = map_get(r, "entries-added");
    const redisReply *first = map_get(r, "first-entry"), *maxdel = map_get(r, "max-deleted-entry-id");
    if (len == NULL || len->type != REDIS_REPLY_INTEGER)
        return err_set(err, "XINFO STREAM: no length");
    si->length = len->integer;
    if (id_field(map_get(r, "last-generated-id"), "last-generated-id", &si->last_generated, NULL, 0, err) != 0)
        return -1;
    if (added != NULL && added->type == REDIS_REPLY_INTEGER) {
        si->added = added->integer;
        si->deleted = added->integer - si->length;
    }
    if (maxdel != NULL) {
        if (id_field(maxdel, "max-deleted-entry-id", &si->max_deleted, si->max_deleted_str,
                     sizeof si->max_deleted_str, err) != 0)
            return -1;
        si->has_max_deleted = true;
    }
    if (first != NULL && first->type == REDIS_REPLY_ARRAY && first->elements >= 1) {
        if (id_field(first->element[0], "first-entry id", &si->first, si->first_str, sizeof si->first_str,
                     err) != 0)
            return -1;
        si->has_first = true;
    }
    return 0;
}

/* Whether entries after the cursor (the last id exported, or --since; none
 * when from_start) are gone, with the reason in msg. deleted_before: the
 * stream's deleted count at the previous page (-1: first page). Entries
 * leave a stream by trimming (from the oldest: Redis 7 counts them,
 * entries-added - length, without their ids) or XDEL (Redis 7 keeps the
 * largest id, max-deleted-entry-id). So:
 *  - from the start: every deleted entry is lost, and their count is exact;
 *  - after a cursor: XDEL after it shows in max-deleted-entry-id; trimming
 *    after it shows as the first entry left being newer than the cursor
 *    (or, the stream empty, the last id generated), with entries deleted
 *    since the previous look. How many of the deleted entries came after
 *    the cursor is not known: the message gives the bound. (Trimmed up to
 *    exactly the cursor looks the same: no entry may be lost then.)
 * Redis before 7.0 (no entries-added) leaves only "the first entry left is
 * newer than the cursor": from the start nothing can be checked (a
 * warning). Returns 1 on a gap, 0 without, 2 "cannot check". */
static int check_gap(const char *stream, const char *cursor_str, stream_id_t cursor, bool from_start,
                     bool mid_export, const stream_info_t *si, long long deleted_before, char *msg, size_t msz)
{
    const char *when = mid_export ? " during the export" : "";
    if (!si->exists) {
        if (from_start && !mid_export)
            return 0;
        if (mid_export)
            snprintf(msg, msz, "stream %s was deleted during the export, after entry %s", stream, cursor_str);
        else
            snprintf(msg, msz,
                     "stream %s does not exist, but --since %s resumes an earlier export of it: a wrong --stream, "
                     "or Redis lost or deleted the stream (and any entries after %s)",
                     stream, cursor_str, cursor_str);
        return 1;
    }
    long long fresh = si->deleted < 0 ? -1 : deleted_before < 0 ? si->deleted : si->deleted - deleted_before;
    if (si->has_max_deleted && stream_id_cmp(si->max_deleted, cursor) > 0 && !from_start) {
        snprintf(msg, msz,
                 "stream %s: entries after %s were deleted%s before they were exported: max-deleted-entry-id %s "
                 "is newer than %s (deleted with XDEL; how many is not known)",
                 stream, cursor_str, when, si->max_deleted_str, cursor_str);
        return 1;
    }
    if (from_start && !mid_export) {
        if (si->deleted < 0) {
            snprintf(msg, msz,
                     "stream %s: cannot check for entries trimmed before this export: this Redis reports no "
                     "entries-added in XINFO STREAM (Redis 7.0 does)",
                     stream);
            return 2;
        }
        if (si->deleted == 0)
            return 0;
        snprintf(msg, msz,
                 "stream %s: %lld entries were trimmed or deleted before they were exported (entries-added %lld, "
                 "length %lld); the first entry left is %s",
                 stream, si->deleted, si->added, si->length, si->has_first ? si->first_str : "(none: empty)");
        return 1;
    }
    if (fresh == 0)
        return 0; /* nothing left the stream since we last looked */
    bool newer = si->has_first ? stream_id_cmp(si->first, cursor) > 0 : stream_id_cmp(si->last_generated, cursor) > 0;
    if (!newer)
        return 0;
    char lost[160];
    if (fresh > 0)
        snprintf(lost, sizeof lost, "up to %lld entries lost (%lld left the stream%s: entries-added %lld, length %lld)",
                 fresh, fresh, mid_export ? " while exporting" : " since it was created", si->added, si->length);
    else
        snprintf(lost, sizeof lost, "how many is not known (this Redis reports no entries-added)");
    if (si->has_first)
        snprintf(msg, msz,
                 "stream %s: entries after %s were trimmed%s before they were exported: the first entry left, %s, "
                 "is newer than %s; %s",
                 stream, cursor_str, when, si->first_str, cursor_str, lost);
    else
        snprintf(msg, msz,
                 "stream %s: entries after %s were trimmed%s before they were exported: the stream is empty and its "
                 "last id is newer than %s; %s",
                 stream, cursor_str, when, cursor_str, lost);
    return 1;
}

/* One page in one snapshot: MULTI, XINFO STREAM, XRANGE, EXEC. *exec gets
 * the EXEC reply (free it); *info and *range point into it. */
static int read_page(redisContext *c, const char *stream, const char *start, redisReply **exec,
                     const redisReply **info, const redisReply **range, err_t *err)
{
    *exec = NULL;
    if (redisAppendCommand(c, "MULTI") != REDIS_OK || redisAppendCommand(c, "XINFO STREAM %s", stream) != REDIS_OK ||
        redisAppendCommand(c, "XRANGE %s %s + COUNT %d", stream, start, EXPORT_PAGE) != REDIS_OK ||
        redisAppendCommand(c, "EXEC") != REDIS_OK)
        return err_set(err, "XRANGE %s %s: out of memory", stream, start);
    redisReply *rep[4] = {NULL, NULL, NULL, NULL};
    int rc = 0;
    for (int i = 0; i < 4; i++)
        if (redisGetReply(c, (void **)&rep[i]) != REDIS_OK) {
            rc = err_set(err, "XRANGE %s %s: %s", stream, start, c->errstr);
            break;
        }
    for (int i = 0; i < 3 && rc == 0; i++)
        if (rep[i]->type == REDIS_REPLY_ERROR)
            rc = err_set(err, "%s %s: %s", i == 0 ? "MULTI" : i == 1 ? "XINFO STREAM" : "XRANGE", stream,
                         rep[i]->str);
    if (rc == 0 && rep[3]->type == REDIS_REPLY_ERROR)
        rc = err_set(err, "XRANGE %s %s: %s", stream, start, rep[3]->str);
    else if (rc == 0 && (rep[3]->type != REDIS_REPLY_ARRAY || rep[3]->elements != 2))
        rc = err_set(err, "XRANGE %s %s: unexpected reply to EXEC", stream, start);
    if (rc == 0) {
        const redisReply *x = rep[3]->element[1];
        if (x->type == REDIS_REPLY_ERROR)
            rc = err_set(err, "XRANGE %s %s: %s", stream, start, x->str);
        else if (x->type != REDIS_REPLY_ARRAY)
            rc = err_set(err, "XRANGE %s %s: unexpected reply type %d", stream, start, x->type);
    }
    for (int i = 0; i < 3; i++)
        freeReplyObject(rep[i]);
    if (rc != 0) {
        freeReplyObject(rep[3]);
        return -1;
    }
    *exec = rep[3];
    *info = rep[3]->element[0];
    *range = rep[3]->element[1];
    return 0;
}

/* Pages the stream into the CSV at out_path (written to a temporary name,
 * renamed when complete, so a failed export never leaves half a file). */
static int export_feedback(const cfg_t *cfg, export_counts_t *n, err_t *err)
{
    const char *stream = cfg_str(cfg, "stream"), *since = cfg_str(cfg, "since");
    const char *out_path = cfg_str(cfg, "out");
    double implicit = cfg_double(cfg, "implicit-rating"), dislike = cfg_double(cfg, "dislike-rating");
    bool allow_gap = cfg_bool(cfg, "allow-gap");
    memset(n, 0, sizeof *n);
    if (out_path == NULL || out_path[0] == '\0')
        return err_set(err, "export-feedback: --out FILE.csv is required");
    if (stream == NULL || stream[0] == '\0')
        return err_set(err, "export-feedback: --stream is empty");
    stream_id_t cursor = {0, 0};
    if (since && since[0] && (stream_id_parse(since, &cursor) != 0 || strlen(since) >= sizeof n->last_id))
        return err_set(err, "export-feedback: --since '%.80s' is not a stream id (MS-SEQ, the last_id an export printed)",
                       since);
    bool from_start = cursor.ms == 0 && cursor.seq == 0; /* no --since, or 0-0 */
    redisContext *c = export_connect(cfg, err);
    if (c == NULL)
        return -1;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", out_path);
    FILE *out = fopen(tmp, "w");
    if (out == NULL) {
        err_errno(err, "%s", tmp);
        redisFree(c);
        return -1;
    }
    int rc = 0;
    FILE *old = cfg_bool(cfg, "append") ? fopen(out_path, "r") : NULL;
    if (old) {
        /* the previous export's rows first (its header checked) */
        char buf[65536];
        size_t got = fread(buf, 1, sizeof EXPORT_HEADER - 1, old);
        if (got >= sizeof EXPORT_HEADER_V1 - 1 && memcmp(buf, EXPORT_HEADER_V1, sizeof EXPORT_HEADER_V1 - 1) == 0)
            rc = err_set(err,
                         "%s:1: --append: an export without the implicit column (an older recsys-data): its "
                         "rows cannot tell implicit events from ratings; export again from the start without --append",
                         out_path);
        else if (got != sizeof EXPORT_HEADER - 1 || memcmp(buf, EXPORT_HEADER, got) != 0)
            rc = err_set(err, "%s:1: --append: not an export (header is not %.*s)", out_path,
                         (int)sizeof EXPORT_HEADER - 2, EXPORT_HEADER);
        fwrite(buf, 1, got, out);
        while (rc == 0 && (got = fread(buf, 1, sizeof buf, old)) > 0)
            fwrite(buf, 1, got, out);
        if (rc == 0 && ferror(old))
            rc = err_errno(err, "%s", out_path);
        fclose(old);
    } else {
        fputs(EXPORT_HEADER, out);
    }
    char start[80];
    snprintf(start, sizeof start, "%s%s", from_start ? "" : "(", from_start ? "-" : since);
    if (!from_start)
        snprintf(n->last_id, sizeof n->last_id, "%s", since);
    long long deleted_before = -1;
    for (bool mid = false; rc == 0; mid = true) {
        redisReply *exec;
        const redisReply *info = NULL, *range = NULL;
        stream_info_t si;
        if (read_page(c, stream, start, &exec, &info, &range, err) != 0) {
            rc = -1;
            break;
        }
        if (parse_xinfo(info, &si, err) != 0) {
            rc = -1;
            freeReplyObject(exec);
            break;
        }
        char msg[700];
        bool started = from_start && !mid; /* no cursor yet */
        int gap = check_gap(stream, started ? "the start" : n->last_id, cursor, started, mid, &si, deleted_before,
                            msg, sizeof msg);
        deleted_before = si.deleted;
        if (gap == 1 && !allow_gap) {
            rc = err_set(err, "%s. Nothing was written. --allow-gap exports what is left (export more often, or "
                              "raise the gateway's feedback-stream-maxlen, to keep every event)",
                         msg);
            freeReplyObject(exec);
            break;
        }
        if (gap != 0)
            fprintf(stderr, "recsys-data: warning: %s%s\n", msg, gap == 1 ? "; exporting what is left (--allow-gap)" : "");
        n->gap |= gap == 1;
        for (size_t i = 0; i < range->elements && rc == 0; i++)
            rc = export_entry(range->element[i], out, implicit, dislike, n, err);
        size_t got = range->elements;
        freeReplyObject(exec);
        if (rc != 0 || got < EXPORT_PAGE)
            break;
        if (stream_id_parse(n->last_id, &cursor) != 0) {
            rc = err_set(err, "stream %s: entry id '%.40s' is not MS-SEQ", stream, n->last_id);
            break;
        }
        snprintf(start, sizeof start, "(%s", n->last_id);
    }
    redisFree(c);
    if (fclose(out) != 0 && rc == 0)
        rc = err_errno(err, "%s", tmp);
    if (rc == 0 && rename(tmp, out_path) != 0)
        rc = err_errno(err, "rename %s", out_path);
    if (rc != 0)
        remove(tmp);
    return rc;
}

static int cmd_export(const cfg_t *cfg)
{
    err_t err;
    export_counts_t n;
    if (export_feedback(cfg, &n, &err) != 0) {
        fprintf(stderr, "recsys-data: %s\n", err.msg);
        return 1;
    }
    printf("stream\t%s\n", cfg_str(cfg, "stream"));
    printf("entries\t%llu\n", n.entries);
    printf("written\t%llu\n", n.written);
    printf("skipped\t%llu\n", n.skipped);
    printf("gap\t%s\n", n.gap ? "yes" : "no");
    /* The next export continues with --since <last_id>. */
    printf("last_id\t%s\n", n.last_id[0] ? n.last_id : "0-0");
    return 0;
}

/* Text for one TSV cell: tabs and line ends become spaces. */
static void put_cell(const char *s)
{
    for (; *s; s++)
        putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

static void put_list(const catalog_t *c, uint32_t i, catalog_list_t l)
{
    for (uint32_t k = 0; k < catalog_list_len(c, i, l); k++) {
        if (k)
            putchar('|');
        put_cell(catalog_list_at(c, i, l, k));
    }
}

static void print_item(const catalog_t *c, uint32_t i)
{
    printf("%u\t", i);
    put_cell(catalog_id(c, i));
    putchar('\t');
    put_cell(catalog_title(c, i));
    printf("\t%d\t", catalog_year(c, i));
    for (uint32_t k = 0; k < catalog_item_ngenres(c, i); k++) {
        if (k)
            putchar('|');
        put_cell(catalog_genre_name(c, catalog_item_genre(c, i, k)));
    }
    printf("\t%u\t%.3f\t", catalog_rating_count(c, i), (double)catalog_rating_mean(c, i));
    put_list(c, i, CATALOG_DIRECTORS);
    putchar('\t');
    put_list(c, i, CATALOG_CAST);
    putchar('\t');
    put_list(c, i, CATALOG_KEYWORDS);
    putchar('\t');
    for (uint32_t k = 0; k < catalog_ntags(c, i); k++) {
        uint32_t n;
        const char *t = catalog_tag(c, i, k, &n);
        if (k)
            putchar('|');
        put_cell(t);
        if (n > 1)
            printf("(%u)", n);
    }
    putchar('\n');
}

static int cmd_items(const dataset_t *ds, long long limit, const char *search)
{
    const catalog_t *c = ds->catalog;
    printf("index\tid\ttitle\tyear\tgenres\tratings\tmean_rating\tdirectors\tcast\tkeywords\ttags\n");
    uint32_t n = catalog_size(c);
    uint32_t *hits = NULL;
    size_t nh = n;
    if (search && search[0]) {
        hits = malloc((n ? n : 1) * sizeof *hits);
        if (hits == NULL)
            return 1;
        nh = catalog_search(c, search, CATALOG_MATCH_SUBSTRING, hits, n);
    }
    for (size_t k = 0; k < nh && (limit <= 0 || (long long)k < limit); k++)
        print_item(c, hits ? hits[k] : (uint32_t)k);
    free(hits);
    return 0;
}

static void cmd_info(const dataset_t *ds, double ms)
{
    const catalog_t *c = ds->catalog;
    uint32_t n = catalog_size(c), with_year = 0, no_genre = 0, with_overview = 0;
    uint64_t lists[CATALOG_NLISTS] = {0};
    for (uint32_t i = 0; i < n; i++) {
        with_year += catalog_year(c, i) != 0;
        no_genre += catalog_item_ngenres(c, i) == 0;
        with_overview += catalog_overview(c, i)[0] != '\0';
        for (int l = 0; l < CATALOG_NLISTS; l++)
            lists[l] += catalog_list_len(c, i, (catalog_list_t)l);
    }
    printf("path\t%s\n", ds->path);
    printf("layout\t%s\n", dataset_layout_name(ds->layout));
    printf("items\t%u\t(from %s%s)\n", n, ds->items_name,
           ds->converted_latin1 ? ", converted from Latin-1" : "");
    printf("items_with_year\t%u\n", with_year);
    printf("items_with_overview\t%u\n", with_overview);
    printf("items_without_genres\t%u\n", no_genre);
    printf("genres\t%u\t", catalog_ngenres(c));
    for (uint32_t g = 0; g < catalog_ngenres(c); g++)
        printf("%s%s", g ? "|" : "", catalog_genre_name(c, g));
    printf("\n");
    for (int l = 0; l < CATALOG_NLISTS; l++)
        printf("%s_entries\t%llu\n", catalog_list_name((catalog_list_t)l),
               (unsigned long long)lists[l]);
    printf("credits\t%s\n", ds->has_credits ? "yes" : "no");
    printf("tag_rows\t%llu\n", (unsigned long long)ds->tag_rows);
    printf("links\t%llu\t(%llu without tmdbId)\n", (unsigned long long)ds->link_rows,
           (unsigned long long)ds->links_without_tmdb);
    if (ds->tmdb.joined) {
        const dataset_tmdb_join_t *t = &ds->tmdb;
        printf("tmdb_records\t%u\t(credits: %s)\n", t->records,
               t->credits ? "yes" : t->tags ? "seed tags" : "no");
        printf("tmdb_linked_items\t%u\t(items with a tmdbId)\n", t->linked);
        printf("tmdb_matched_items\t%u\t(%.1f%% of %u items; %u TMDB records used, %u items "
               "share a record)\n",
               t->matched, n ? 100.0 * t->matched / n : 0.0, n, t->records_used, t->shared);
        printf("tmdb_matched_rated_items\t%u\t(of %u rated items)\n", t->rated_matched,
               t->rated_items);
        printf("tmdb_ratings_covered\t%llu\t(%.1f%% of %llu ratings)\n",
               (unsigned long long)t->ratings_covered,
               t->ratings ? 100.0 * (double)t->ratings_covered / (double)t->ratings : 0.0,
               (unsigned long long)t->ratings);
        printf("tmdb_items_gained\toverview %u\tkeywords %u\tcast %u\tdirectors %u\n",
               t->with_overview, t->with_keywords, t->with_cast, t->with_directors);
        if (t->tags)
            printf("tmdb_seed_tags\t%u\t(matched items with a seed-tags row; %u did not fit their "
                   "record)\n",
                   t->tags_used, t->tags_mismatched);
    }
    if (ds->ratings) {
        const ratings_t *r = ds->ratings;
        printf("ratings\t%zu\t(from %s)\n", r->n, ds->ratings_name);
        printf("users\t%u\n", ratings_count_users(r));
        printf("rated_items\t%u\n", ratings_count_items(r));
        printf("rating_range\t%g\t%g\n", (double)r->min, (double)r->max);
        if (r->has_ts && r->n) {
            int64_t lo = ratings_ts(r, 0), hi = lo;
            for (size_t i = 1; i < r->n; i++) {
                int64_t t = ratings_ts(r, i);
                lo = t < lo ? t : lo;
                hi = t > hi ? t : hi;
            }
            printf("timestamp_range\t%lld\t%lld\n", (long long)lo, (long long)hi);
        }
        printf("ratings_bytes\t%zu\n", ratings_memory(r));
    } else {
        printf("ratings\t0\t(%s)\n", ds->ratings_note);
    }
    printf("catalog_bytes\t%zu\n", catalog_memory(c));
    printf("load_ms\t%.1f\n", ms);
}

int main(int argc, char **argv)
{
    err_t err;
    cfg_t *cfg = cfg_new("recsys-data", "info|items --data DIR [options] | export-feedback --out FILE.csv [options]",
                         "Loads a dataset as the services do and prints what it holds: `info` "
                         "gives the layout and counts, `items` prints the catalog as TSV. "
                         "`export-feedback` writes the gateway's feedback stream as a ratings CSV "
                         "for --extra-ratings and prints the last stream id for the next --since; it "
                         "fails (exit 1, nothing written) when entries after --since were trimmed from "
                         "the stream before being exported, unless --allow-gap.");
    if (cfg == NULL || cfg_add(cfg, "data", dataset_options, &err) != 0 ||
        cfg_add(cfg, "recsys-data", tool_options, &err) != 0 ||
        cfg_add(cfg, "export-feedback", export_options, &err) != 0 ||
        cfg_add(cfg, "log", log_options, &err) != 0) {
        fprintf(stderr, "recsys-data: %s\n", cfg ? err.msg : "out of memory");
        cfg_free(cfg);
        return 2;
    }
    int rc = cfg_parse(cfg, argc, argv, &err);
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "recsys-data: %s\n", err.msg);
        cfg_free(cfg);
        return rc < 0 ? 2 : 0;
    }
    if (log_setup_cfg("recsys-data", cfg, &err) != 0) {
        fprintf(stderr, "recsys-data: %s\n", err.msg);
        cfg_free(cfg);
        return 2;
    }
    const char *cmd = cfg_nargs(cfg) > 0 ? cfg_arg(cfg, 0) : "";
    const char *path = cfg_str(cfg, "data");
    if (strcmp(cmd, "export-feedback") == 0 && cfg_nargs(cfg) == 1) {
        rc = cmd_export(cfg);
        cfg_free(cfg);
        return rc;
    }
    if ((strcmp(cmd, "info") != 0 && strcmp(cmd, "items") != 0) || cfg_nargs(cfg) != 1) {
        fprintf(stderr, "recsys-data: expected one command, info, items or export-feedback (see --help)\n");
        cfg_free(cfg);
        return 2;
    }
    if (path == NULL || path[0] == '\0') {
        fprintf(stderr, "recsys-data: --data DIR (or RECSYS_DATA) is required\n");
        cfg_free(cfg);
        return 2;
    }
    dataset_opts_t opts;
    dataset_opts_from_cfg(cfg, &opts);
    if (strcmp(cmd, "info") == 0 && strcmp(cfg_source(cfg, "allow-missing-ratings"), "default") == 0)
        opts.allow_missing_ratings = true; /* info reports a missing file instead of failing */
    double t0 = (1e3 * clock_mono_sec());
    dataset_t *ds;
    if (dataset_load(path, &ds, &opts, &err) != 0) {
        fprintf(stderr, "recsys-data: %s: %s\n", path, err.msg);
        cfg_free(cfg);
        return 1;
    }
    double ms = (1e3 * clock_mono_sec()) - t0;
    if (strcmp(cmd, "info") == 0)
        cmd_info(ds, ms);
    else
        rc = cmd_items(ds, cfg_int(cfg, "limit"), cfg_str(cfg, "search"));
    dataset_free(ds);
    cfg_free(cfg);
    return rc;
}
