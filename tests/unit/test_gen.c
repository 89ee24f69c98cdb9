/* test_gen.c: the demo catalog, the demo and synthetic generators (every
 * layout), determinism, exact counts, and the taste the data carries. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/recsys-gen/gen.h"

/* ---- helpers ------------------------------------------------------------ */

static char *catalog_path(void)
{
    const char *src = getenv("RECSYS_SOURCE_DIR");
    char buf[4096];
    if (src != NULL) {
        snprintf(buf, sizeof buf, "%s/tools/demo-data/items.csv", src);
    } else { /* __FILE__ is tests/unit/test_gen.c under the source tree */
        snprintf(buf, sizeof buf, "%s", __FILE__);
        char *cut = strstr(buf, "tests/unit/test_gen.c");
        assert_non_null(cut);
        snprintf(cut, sizeof buf - (size_t)(cut - buf), "tools/demo-data/items.csv");
    }
    return strdup(buf);
}

static void load_catalog(gen_catalog_t *cat)
{
    char *path = catalog_path();
    err_t err;
    if (gen_catalog_load(cat, path, &err) != 0)
        fail_msg("%s", err.msg);
    free(path);
}

/* Splits text into lines (in place); returns the count. */
static size_t split_lines(char *text, char ***out)
{
    size_t n = 0, cap = 1024;
    char **v = malloc(cap * sizeof *v);
    assert_non_null(v);
    for (char *p = text; *p;) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl); /* every line ends with LF */
        *nl = '\0';
        if (n == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof *v);
            assert_non_null(v);
        }
        v[n++] = p;
        p = nl + 1;
    }
    *out = v;
    return n;
}

/* Splits line at sep (in place) into at most max fields; returns the count. */
static int split_fields(char *line, const char *sep, char **f, int max)
{
    int n = 0;
    size_t sl = strlen(sep);
    for (char *p = line;;) {
        char *s = strstr(p, sep);
        if (n < max)
            f[n] = p;
        n++;
        if (s == NULL)
            break;
        *s = '\0';
        p = s + sl;
    }
    return n;
}

static long parse_long(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    assert_true(end != s && *end == '\0');
    return v;
}

static int cmp_film_ptr(const void *a, const void *b)
{
    return strcmp((*(const gen_film_t *const *)a)->id, (*(const gen_film_t *const *)b)->id);
}

typedef struct rating {
    long user, item;
    int r2; /* stars x 2 */
    long long ts;
} rating_t;

typedef struct ratings {
    rating_t *v;
    size_t n;
} ratings_t;

/* Reads a ratings file: optional header, sep-separated user,item,rating,ts.
 * Items are numeric ids, or catalog indexes when cat is given. Asserts
 * that ratings are in 0.5..5 half steps (whole stars when whole). */
static void read_ratings(const char *dir, const char *name, const char *header, const char *sep,
                         const gen_catalog_t *cat, int whole, ratings_t *out)
{
    char *path = testutil_join(dir, name);
    char *text = testutil_read_file(path, NULL);
    assert_non_null(text);
    assert_null(strchr(text, '\r'));
    char **lines;
    size_t nl = split_lines(text, &lines), first = 0;
    if (header != NULL) {
        assert_true(nl > 0);
        assert_string_equal(lines[0], header);
        first = 1;
    }
    const gen_film_t **byid = NULL;
    if (cat != NULL) {
        byid = malloc(cat->n * sizeof *byid);
        assert_non_null(byid);
        for (size_t k = 0; k < cat->n; k++)
            byid[k] = &cat->films[k];
        qsort(byid, cat->n, sizeof *byid, cmp_film_ptr);
    }
    out->n = nl - first;
    out->v = malloc((out->n + 1) * sizeof *out->v);
    assert_non_null(out->v);
    for (size_t i = first; i < nl; i++) {
        char *f[5];
        int nf = split_fields(lines[i], sep, f, 5);
        if (nf != 4)
            fail_msg("%s:%zu: %d fields", name, i + 1, nf);
        rating_t *r = &out->v[i - first];
        r->user = parse_long(f[0]);
        if (cat != NULL) {
            gen_film_t key = {0};
            const gen_film_t *kp = &key, **hit;
            key.id = f[1];
            hit = bsearch(&kp, byid, cat->n, sizeof *byid, cmp_film_ptr);
            if (hit == NULL)
                fail_msg("%s:%zu: item '%s' is not in the catalog", name, i + 1, f[1]);
            r->item = (long)(*hit - cat->films);
        } else {
            r->item = parse_long(f[1]);
        }
        char *end;
        double x = strtod(f[2], &end);
        assert_true(*end == '\0');
        assert_true(x >= 0.5 && x <= 5.0);
        r->r2 = (int)lround(2 * x);
        assert_true(fabs(r->r2 - 2 * x) < 1e-9);
        if (whole) {
            assert_true(strchr(f[2], '.') == NULL);
            assert_true(r->r2 % 2 == 0);
        } else {
            assert_non_null(strstr(f[2], ".")); /* "4.0", "3.5": MovieLens's spelling */
        }
        r->ts = strtoll(f[3], &end, 10);
        assert_true(*end == '\0' && r->ts > 0);
    }
    free(byid);
    free(lines);
    free(text);
    free(path);
}

/* Users are 1..users in ascending blocks; per user: no repeated item,
 * strictly increasing timestamps, at least min ratings. */
static void check_ratings(const ratings_t *rs, long users, long items, uint32_t min)
{
    unsigned char *seen = calloc((size_t)items + 1, 1);
    assert_non_null(seen);
    long user = 0;
    size_t start = 0;
    for (size_t i = 0; i <= rs->n; i++) {
        if (i == rs->n || rs->v[i].user != user) {
            if (user > 0) {
                assert_true(i - start >= min);
                for (size_t j = start; j < i; j++)
                    seen[rs->v[j].item] = 0;
            }
            if (i == rs->n)
                break;
            assert_int_equal(rs->v[i].user, user + 1);
            user++;
            start = i;
        } else {
            assert_true(rs->v[i].ts > rs->v[i - 1].ts);
        }
        assert_true(rs->v[i].item >= 0 && rs->v[i].item <= items);
        if (seen[rs->v[i].item])
            fail_msg("user %ld rated item %ld twice", user, rs->v[i].item);
        seen[rs->v[i].item] = 1;
    }
    assert_int_equal(user, users);
    free(seen);
}

static gen_params_t demo_params(uint32_t users)
{
    gen_params_t p = {0};
    p.seed = 42;
    p.users = users;
    p.ratings = (uint64_t)users * 60;
    p.min_ratings = 20;
    p.max_ratings = 239;
    p.zipf = 0.8;
    p.zipf_head = 0.002;
    return p;
}

static int files_equal(const char *a, const char *b)
{
    size_t la, lb;
    char *x = testutil_read_file(a, &la), *y = testutil_read_file(b, &lb);
    int eq = x != NULL && y != NULL && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return eq;
}

/* ---- the catalog -------------------------------------------------------- */

static void test_catalog(void **state)
{
    gen_catalog_t cat;
    load_catalog(&cat);
    assert_in_range(cat.n, 300, 400);
    assert_true(cat.len < 150 * 1024);
    assert_null(memchr(cat.text, '\r', cat.len));
    assert_memory_equal(cat.text, GEN_CATALOG_HEADER "\n", strlen(GEN_CATALOG_HEADER) + 1);
    int decades[20] = {0}, non_ascii = 0;
    unsigned genre_union = 0;
    for (size_t i = 0; i < cat.n; i++) {
        const gen_film_t *f = &cat.films[i];
        assert_in_range(f->year, 1900, 2030);
        assert_true(f->title[0] != '\0' && f->directors[0] != '\0' && f->overview[0] != '\0');
        assert_true(f->genre_mask != 0);
        genre_union |= f->genre_mask;
        decades[(f->year - 1900) / 10]++;
        /* the id is a slug ending in the year */
        char tail[8];
        snprintf(tail, sizeof tail, "-%d", f->year);
        assert_true(strlen(f->id) > strlen(tail));
        assert_string_equal(f->id + strlen(f->id) - strlen(tail), tail);
        for (const char *c = f->id; *c; c++)
            assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-');
        int bars = 0;
        for (const char *c = f->cast; *c; c++)
            bars += *c == '|';
        assert_in_range(bars, 1, 3); /* 2-4 leads */
        bars = 0;
        for (const char *c = f->keywords; *c; c++) {
            bars += *c == '|';
            assert_false(*c >= 'A' && *c <= 'Z');
        }
        assert_in_range(bars, 2, 5); /* 3-6 keywords */
        for (const char *c = f->title; *c; c++)
            non_ascii |= (unsigned char)*c >= 0x80;
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(cat.films[j].id, f->id);
    }
    for (int d = 2; d <= 12; d++) /* every decade from the 1920s to the 2020s */
        assert_true(decades[d] > 0);
    assert_int_equal(genre_union, (1u << GEN_NGENRES) - 1); /* every genre used */
    assert_true(non_ascii);                                   /* Amélie, Léon, ... */
    gen_catalog_free(&cat);
}

static void test_catalog_errors(void **state)
{
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"a-1,A,1999,Drama,X,P|Q,k|l|m\n", "items.csv:2: expected 8 fields, found 7"},
        {"a-1,A,1999,Drama,X,P|Q,k|l|m,o.\na-1,B,1999,Drama,X,P|Q,k|l|m,o.\n", "duplicate item_id 'a-1'"},
        {"a-1,A,19x9,Drama,X,P|Q,k|l|m,o.\n", "items.csv:2: bad year '19x9'"},
        {"a-1,A,1999,Drama|Sci-fi,X,P|Q,k|l|m,o.\n", "items.csv:2: unknown genre 'Sci-fi'"},
        {"a-1,A,1999,,X,P|Q,k|l|m,o.\n", "has no genres"},
        {"a-1,,1999,Drama,X,P|Q,k|l|m,o.\n", "empty item_id or title"},
        {"a-1,\"A,1999,Drama,X,P|Q,k|l|m,o.\n", "unterminated quoted field"},
        {"a-1,A\"b,1999,Drama,X,P|Q,k|l|m,o.\n", "quote inside an unquoted field"},
        {"", "no items"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "%s\n%s", GEN_CATALOG_HEADER, cases[i].body);
        gen_catalog_t cat;
        err_t err;
        assert_int_equal(gen_catalog_parse(&cat, text, strlen(text), "items.csv", &err), -1);
        if (strstr(err.msg, cases[i].want) == NULL)
            fail_msg("case %zu: '%s' does not contain '%s'", i, err.msg, cases[i].want);
    }
    gen_catalog_t cat;
    err_t err;
    assert_int_equal(gen_catalog_parse(&cat, "id,title\n", 9, "items.csv", &err), -1);
    assert_non_null(strstr(err.msg, "items.csv:1: header must be"));
    assert_int_equal(gen_catalog_load(&cat, "/nonexistent/items.csv", &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/items.csv"));
    /* quoted fields, doubled quotes and CRLF are fine */
    const char *ok = GEN_CATALOG_HEADER "\r\nx-2000,\"Say \"\"Hi\"\", Bob\",2000,Comedy|Drama,D,P|Q,k|l|m,\"o, p.\"\r\n";
    assert_int_equal(gen_catalog_parse(&cat, ok, strlen(ok), "items.csv", &err), 0);
    assert_int_equal(cat.n, 1);
    assert_string_equal(cat.films[0].title, "Say \"Hi\", Bob");
    assert_string_equal(cat.films[0].overview, "o, p.");
    assert_int_equal(cat.films[0].genre_mask, (1u << 4) | (1u << 7));
    gen_catalog_free(&cat);
}

/* ---- demo --------------------------------------------------------------- */

static void test_demo_deterministic_and_valid(void **state)
{
    gen_catalog_t cat;
    load_catalog(&cat);
    char *a = testutil_tmpdir("gen_demo_a"), *b = testutil_tmpdir("gen_demo_b"),
         *c = testutil_tmpdir("gen_demo_c");
    char *sub = testutil_join(b, "nested/dir"); /* created on demand */
    gen_params_t p = demo_params(150);
    gen_stats_t st;
    err_t err;
    if (gen_demo(a, &cat, &p, &st, &err) != 0 || gen_demo(sub, &cat, &p, &st, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(st.ratings, 150 * 60);
    assert_int_equal(st.users, 150);
    assert_true(st.min_per_user >= 20 && st.max_per_user <= 239);
    assert_true(st.mean_rating > 3.0 && st.mean_rating < 4.0);
    char *ra = testutil_join(a, "ratings.csv"), *rb = testutil_join(sub, "ratings.csv");
    char *ia = testutil_join(a, "items.csv"), *ib = testutil_join(sub, "items.csv");
    assert_true(files_equal(ra, rb));
    assert_true(files_equal(ia, ib));
    char *src = catalog_path();
    assert_true(files_equal(ia, src)); /* a byte copy of the catalog */
    p.seed = 43;
    if (gen_demo(c, &cat, &p, &st, &err) != 0)
        fail_msg("%s", err.msg);
    char *rc = testutil_join(c, "ratings.csv");
    assert_false(files_equal(ra, rc));

    ratings_t rs;
    read_ratings(a, "ratings.csv", "user_id,item_id,rating,timestamp", ",", &cat, 0, &rs);
    assert_int_equal(rs.n, 150 * 60);
    check_ratings(&rs, 150, (long)cat.n, 20);
    int halves = 0;
    for (size_t i = 0; i < rs.n; i++) {
        halves += rs.v[i].r2 & 1;
        /* 2008..2024, never before the film came out */
        assert_true(rs.v[i].ts >= 1199145600LL && rs.v[i].ts < 1767225600LL);
        assert_true(rs.v[i].ts >= (cat.films[rs.v[i].item].year - 1970) * 31556952LL);
    }
    assert_true(halves > 0);
    free(rs.v);
    free(rc);
    free(src);
    free(ra);
    free(rb);
    free(ia);
    free(ib);
    free(sub);
    free(a);
    free(b);
    free(c);
    gen_catalog_free(&cat);
}

/* The users' hidden favourite genre (largest pref) is rated above their
 * other items, and the favourite guessed from half of a user's ratings
 * (the genre they watch most for its size) predicts the other half: the
 * structure a content or CF model can learn. */
static void test_taste_structure(void **state)
{
    gen_catalog_t cat;
    load_catalog(&cat);
    char *dir = testutil_tmpdir("gen_taste");
    gen_params_t p = demo_params(600);
    gen_stats_t st;
    err_t err;
    float *pref = malloc(600 * GEN_NGENRES * sizeof *pref);
    assert_non_null(pref);
    if (gen_demo(dir, &cat, &p, &st, &err) != 0 || gen_demo_prefs(&cat, &p, pref, &err) != 0)
        fail_msg("%s", err.msg);
    ratings_t rs;
    read_ratings(dir, "ratings.csv", "user_id,item_id,rating,timestamp", ",", &cat, 0, &rs);
    double gsize[GEN_NGENRES] = {0};
    for (size_t i = 0; i < cat.n; i++)
        for (int g = 0; g < GEN_NGENRES; g++)
            gsize[g] += cat.films[i].genre_mask >> g & 1;
    double d_true[600], d_half[600];
    int n_true = 0, n_half = 0;
    for (size_t s = 0, e; s < rs.n; s = e) {
        long u = rs.v[s].user - 1;
        for (e = s; e < rs.n && rs.v[e].user == rs.v[s].user; e++)
            ;
        int fav = 0;
        for (int g = 1; g < GEN_NGENRES; g++)
            if (pref[u * GEN_NGENRES + g] > pref[u * GEN_NGENRES + fav])
                fav = g;
        /* guess from the even positions, score the odd ones */
        double cnt[GEN_NGENRES] = {0};
        for (size_t j = s; j < e; j += 2)
            for (int g = 0; g < GEN_NGENRES; g++)
                cnt[g] += cat.films[rs.v[j].item].genre_mask >> g & 1;
        int guess = 0;
        for (int g = 1; g < GEN_NGENRES; g++)
            if (cnt[g] / sqrt(gsize[g]) > cnt[guess] / sqrt(gsize[guess]))
                guess = g;
        for (int pass = 0; pass < 2; pass++) {
            int g = pass ? guess : fav, step = pass ? 2 : 1;
            size_t from = pass ? s + 1 : s;
            double in = 0, out = 0;
            int nin = 0, nout = 0;
            for (size_t j = from; j < e; j += (size_t)step) {
                if (cat.films[rs.v[j].item].genre_mask >> g & 1) {
                    in += rs.v[j].r2 / 2.0;
                    nin++;
                } else {
                    out += rs.v[j].r2 / 2.0;
                    nout++;
                }
            }
            if (nin > 0 && nout > 0) {
                if (pass)
                    d_half[n_half++] = in / nin - out / nout;
                else
                    d_true[n_true++] = in / nin - out / nout;
            }
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        const double *d = pass ? d_half : d_true;
        int n = pass ? n_half : n_true;
        double mean = 0, var = 0;
        for (int i = 0; i < n; i++)
            mean += d[i];
        mean /= n;
        for (int i = 0; i < n; i++)
            var += (d[i] - mean) * (d[i] - mean);
        double t = mean / sqrt(var / (n - 1) / n);
        print_message("favourite genre (%s): %d users, +%.3f stars, t = %.1f\n",
                      pass ? "guessed from half the ratings" : "hidden", n, mean, t);
        assert_true(n > 500);
        assert_true(mean > (pass ? 0.10 : 0.15));
        assert_true(t > 5);
    }
    free(rs.v);
    free(pref);
    free(dir);
    gen_catalog_free(&cat);
}

/* ---- synth -------------------------------------------------------------- */

static void synth_layout(gen_layout_t layout, const char *name)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "gen_synth_%s", name);
    char *dir = testutil_tmpdir(tmp), *dir2;
    snprintf(tmp, sizeof tmp, "gen_synth_%s_2", name);
    dir2 = testutil_tmpdir(tmp);
    gen_params_t p = {0};
    p.seed = 7;
    p.users = 60;
    p.items = 400;
    p.ratings = 6007;
    p.min_ratings = 20;
    p.zipf = 1.0;
    p.zipf_head = 0.002;
    p.layout = layout;
    gen_stats_t st;
    err_t err;
    if (gen_synth(dir, &p, &st, &err) != 0 || gen_synth(dir2, &p, &st, &err) != 0)
        fail_msg("%s: %s", name, err.msg);
    assert_int_equal(st.ratings, 6007);
    assert_true(st.min_per_user >= 20);
    static const char *const rfile[] = {"ratings.csv", "ratings.csv", "u.data", "ratings.dat"};
    static const char *const ifile[] = {"items.csv", "movies.csv", "u.item", "movies.dat"};
    static const char *const rhead[] = {"user_id,item_id,rating,timestamp", "userId,movieId,rating,timestamp",
                                        NULL, NULL};
    static const char *const sep[] = {",", ",", "\t", "::"};
    for (int f = 0; f < 2; f++) { /* byte-identical reruns */
        char *x = testutil_join(dir, f ? ifile[layout] : rfile[layout]);
        char *y = testutil_join(dir2, f ? ifile[layout] : rfile[layout]);
        assert_true(files_equal(x, y));
        free(x);
        free(y);
    }
    int whole = layout == GEN_ML_100K || layout == GEN_ML_1M;
    ratings_t rs;
    read_ratings(dir, rfile[layout], rhead[layout], sep[layout], NULL, whole, &rs);
    assert_int_equal(rs.n, 6007);
    check_ratings(&rs, 60, 400, 20);
    for (size_t i = 0; i < rs.n; i++)
        assert_true(rs.v[i].item >= 1);
    /* MovieLens's own time ranges */
    long long lo = layout == GEN_ML_100K ? 874724710LL : layout == GEN_ML_1M ? 956703932LL : 822873600LL;
    for (size_t i = 0; i < rs.n; i++)
        assert_true(rs.v[i].ts >= lo);
    free(rs.v);

    /* the item file: ids 1..M in order, the layout's columns */
    char *path = testutil_join(dir, ifile[layout]);
    char *text = testutil_read_file(path, NULL);
    assert_non_null(text);
    char **lines;
    size_t nl = split_lines(text, &lines), first = layout == GEN_ML_LATEST || layout == GEN_PLAIN;
    assert_int_equal(nl - first, 400);
    if (layout == GEN_ML_LATEST)
        assert_string_equal(lines[0], "movieId,title,genres");
    if (layout == GEN_PLAIN)
        assert_string_equal(lines[0], GEN_CATALOG_HEADER);
    for (size_t i = first; i < nl; i++) {
        char *f[32];
        long id;
        if (layout == GEN_ML_100K) {
            assert_int_equal(split_fields(lines[i], "|", f, 32), 24);
            assert_int_equal(strlen(f[2]), 11); /* 01-Jan-1995 */
            int ng = 0;
            for (int g = 5; g < 24; g++) {
                assert_true(strcmp(f[g], "0") == 0 || strcmp(f[g], "1") == 0);
                ng += f[g][0] == '1';
            }
            assert_true(ng >= 1);
        } else if (layout == GEN_ML_1M) {
            assert_int_equal(split_fields(lines[i], "::", f, 32), 3);
            assert_non_null(strstr(f[1], " ("));
        } else {
            /* titles may be quoted ("Silent Harbor, The (1987)"): the id is before the first comma */
            f[0] = lines[i];
            *strchr(lines[i], ',') = '\0';
        }
        id = parse_long(f[0]);
        assert_int_equal(id, (long)(i - first + 1));
    }
    free(lines);
    free(text);
    free(path);
    if (layout == GEN_PLAIN) { /* the plain items.csv is a valid catalog */
        gen_catalog_t cat;
        path = testutil_join(dir, "items.csv");
        if (gen_catalog_load(&cat, path, &err) != 0)
            fail_msg("%s", err.msg);
        assert_int_equal(cat.n, 400);
        gen_catalog_free(&cat);
        free(path);
    }
    if (layout == GEN_ML_100K) {
        path = testutil_join(dir, "u.genre");
        text = testutil_read_file(path, NULL);
        assert_non_null(text);
        assert_true(strncmp(text, "unknown|0\nAction|1\n", 19) == 0);
        assert_non_null(strstr(text, "Children's|4\n"));
        assert_non_null(strstr(text, "Western|18\n"));
        free(text);
        free(path);
        path = testutil_join(dir, "u.info");
        text = testutil_read_file(path, NULL);
        assert_string_equal(text, "60 users\n400 items\n6007 ratings\n");
        free(text);
        free(path);
        path = testutil_join(dir, "u.user");
        text = testutil_read_file(path, NULL);
        nl = split_lines(text, &lines);
        assert_int_equal(nl, 60);
        char *f[8];
        assert_int_equal(split_fields(lines[59], "|", f, 8), 5);
        assert_string_equal(f[0], "60");
        free(lines);
        free(text);
        free(path);
    }
    if (layout == GEN_ML_1M) {
        path = testutil_join(dir, "users.dat");
        text = testutil_read_file(path, NULL);
        nl = split_lines(text, &lines);
        assert_int_equal(nl, 60);
        char *f[8];
        assert_int_equal(split_fields(lines[0], "::", f, 8), 5);
        assert_string_equal(f[0], "1");
        free(lines);
        free(text);
        free(path);
    }
    free(dir);
    free(dir2);
}

static void test_synth_ml_latest(void **state) { synth_layout(GEN_ML_LATEST, "ml-latest"); }
static void test_synth_ml_100k(void **state) { synth_layout(GEN_ML_100K, "ml-100k"); }
static void test_synth_ml_1m(void **state) { synth_layout(GEN_ML_1M, "ml-1m"); }
static void test_synth_plain(void **state) { synth_layout(GEN_PLAIN, "plain"); }

/* Every user rates every item (the heavy path), and tiny or lopsided sizes. */
static void test_synth_edges(void **state)
{
    char *dir = testutil_tmpdir("gen_synth_edges");
    gen_params_t p = {0};
    p.seed = 1;
    p.users = 7;
    p.items = 30;
    p.ratings = 210;
    p.min_ratings = 20;
    p.zipf = 1.0;
    p.layout = GEN_ML_LATEST;
    gen_stats_t st;
    err_t err;
    if (gen_synth(dir, &p, &st, &err) != 0)
        fail_msg("%s", err.msg);
    ratings_t rs;
    read_ratings(dir, "ratings.csv", "userId,movieId,rating,timestamp", ",", NULL, 0, &rs);
    assert_int_equal(rs.n, 210);
    check_ratings(&rs, 7, 30, 30);
    free(rs.v);
    /* fewer ratings than users x minimum: the minimum is lowered, counts stay exact */
    p.users = 50;
    p.items = 1000;
    p.ratings = 333;
    if (gen_synth(dir, &p, &st, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(st.ratings, 333);
    assert_true(st.min_per_user >= 6);
    read_ratings(dir, "ratings.csv", "userId,movieId,rating,timestamp", ",", NULL, 0, &rs);
    check_ratings(&rs, 50, 1000, 6);
    free(rs.v);
    /* impossible requests are errors, not crashes */
    p.ratings = 49;
    assert_int_equal(gen_synth(dir, &p, &st, &err), -1);
    assert_non_null(strstr(err.msg, "every user needs at least one"));
    p.ratings = 50001;
    assert_int_equal(gen_synth(dir, &p, &st, &err), -1);
    assert_non_null(strstr(err.msg, "do not fit"));
    p.ratings = 500;
    p.zipf = 0;
    assert_int_equal(gen_synth(dir, &p, &st, &err), -1);
    assert_non_null(strstr(err.msg, "--zipf"));
    p.zipf = 1;
    assert_int_equal(gen_synth("/proc/no/such/dir", &p, &st, &err), -1);
    assert_non_null(strstr(err.msg, "/proc/no"));
    gen_layout_t l;
    assert_int_equal(gen_layout_parse("ml-1m", &l, &err), 0);
    assert_int_equal(l, GEN_ML_1M);
    assert_int_equal(gen_layout_parse("ml-10m", &l, &err), -1);
    assert_non_null(strstr(err.msg, "unknown layout 'ml-10m'"));
    assert_int_equal(gen_genre_index("Film-Noir", 9), 9);
    assert_int_equal(gen_genre_index("Film", 4), -1);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalog),
        cmocka_unit_test(test_catalog_errors),
        cmocka_unit_test(test_demo_deterministic_and_valid),
        cmocka_unit_test(test_taste_structure),
        cmocka_unit_test(test_synth_ml_latest),
        cmocka_unit_test(test_synth_ml_100k),
        cmocka_unit_test(test_synth_ml_1m),
        cmocka_unit_test(test_synth_plain),
        cmocka_unit_test(test_synth_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
