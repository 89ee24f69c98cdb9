/*
 * gen_catalog.c: the demo catalog's parser (RFC 4180 CSV with the columns of
 * GEN_CATALOG_HEADER), genre names and layout names for the generator.
 *
 * The whole file is read into memory (the catalog is small); decoded fields
 * go to one arena of at most twice the input size, so a row never needs its
 * own allocation and a film's fields are plain NUL-terminated strings.
 * Every error names the file and the line where the row starts.
 */
#include "tools/recsys-gen/gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const gen_genre_names[GEN_NGENRES] = {
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
};

int gen_genre_index(const char *name, size_t len)
{
    for (int g = 0; g < GEN_NGENRES; g++)
        if (strlen(gen_genre_names[g]) == len && memcmp(gen_genre_names[g], name, len) == 0)
            return g;
    return -1;
}

/* ---- catalog ------------------------------------------------------------ */

void gen_catalog_free(gen_catalog_t *cat)
{
    if (cat == NULL)
        return;
    free(cat->films);
    free(cat->text);
    free(cat->arena);
    memset(cat, 0, sizeof *cat);
}

/* Reads one RFC 4180 field at *pos into arena; sets *end_rec at a record end. */
static int csv_field(const char *t, size_t len, size_t *pos, char **arena, int *line, int *end_rec,
                     const char *name, err_t *err)
{
    size_t i = *pos;
    char *out = *arena;
    if (i < len && t[i] == '"') {
        i++;
        for (;;) {
            if (i >= len)
                return err_set(err, "%s:%d: unterminated quoted field", name, *line);
            if (t[i] == '"') {
                if (i + 1 < len && t[i + 1] == '"') {
                    *out++ = '"';
                    i += 2;
                    continue;
                }
                i++;
                break;
            }
            if (t[i] == '\n')
                (*line)++;
            *out++ = t[i++];
        }
        if (i < len && t[i] != ',' && t[i] != '\n' && t[i] != '\r')
            return err_set(err, "%s:%d: text after a closing quote", name, *line);
    } else {
        while (i < len && t[i] != ',' && t[i] != '\n' && t[i] != '\r') {
            if (t[i] == '"')
                return err_set(err, "%s:%d: quote inside an unquoted field", name, *line);
            *out++ = t[i++];
        }
    }
    *out++ = '\0';
    *arena = out;
    *end_rec = 1;
    if (i < len && t[i] == ',') {
        *end_rec = 0;
        i++;
    } else if (i < len && t[i] == '\r') {
        i += (i + 1 < len && t[i + 1] == '\n') ? 2 : 1;
    } else if (i < len) {
        i++;
    }
    *pos = i;
    return 0;
}

static int cmp_film_id(const void *a, const void *b)
{
    return strcmp((*(const gen_film_t *const *)a)->id, (*(const gen_film_t *const *)b)->id);
}

static int check_genres(gen_film_t *f, const char *name, int line, err_t *err)
{
    const char *s = f->genres;
    f->genre_mask = 0;
    if (*s == '\0')
        return err_set(err, "%s:%d: %s has no genres", name, line, f->id);
    while (*s) {
        const char *bar = strchr(s, '|');
        size_t l = bar ? (size_t)(bar - s) : strlen(s);
        int g = gen_genre_index(s, l);
        if (g < 0)
            return err_set(err, "%s:%d: unknown genre '%.*s'", name, line, (int)l, s);
        f->genre_mask |= 1u << g;
        s += l + (bar != NULL);
    }
    return 0;
}

int gen_catalog_parse(gen_catalog_t *cat, const char *text, size_t len, const char *name, err_t *err)
{
    memset(cat, 0, sizeof *cat);
    cat->text = malloc(len + 1);
    cat->arena = malloc(2 * len + 2);
    size_t cap = 64;
    cat->films = malloc(cap * sizeof *cat->films);
    if (cat->text == NULL || cat->arena == NULL || cat->films == NULL) {
        gen_catalog_free(cat);
        return err_set(err, "%s: out of memory", name);
    }
    memcpy(cat->text, text, len);
    cat->text[len] = '\0';
    cat->len = len;
    const char *t = cat->text;
    size_t pos = 0;
    char *arena = cat->arena;
    int line = 1;
    size_t hlen = strlen(GEN_CATALOG_HEADER);
    if (len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0)
        pos = 3; /* a UTF-8 byte-order mark, as some editors write */
    if (len - pos < hlen || memcmp(t + pos, GEN_CATALOG_HEADER, hlen) != 0 ||
        (pos + hlen < len && t[pos + hlen] != '\n' && t[pos + hlen] != '\r')) {
        gen_catalog_free(cat);
        return err_set(err, "%s:1: header must be '%s'", name, GEN_CATALOG_HEADER);
    }
    pos += hlen;
    pos += (pos < len && t[pos] == '\r');
    pos += (pos < len && t[pos] == '\n');
    while (pos < len) {
        line++;
        int rec_line = line;
        if (t[pos] == '\n' || t[pos] == '\r') { /* blank line */
            pos += (t[pos] == '\r' && pos + 1 < len && t[pos + 1] == '\n') ? 2 : 1;
            continue;
        }
        const char *fields[8];
        int nf = 0, end_rec = 0;
        while (!end_rec) {
            char *start = arena;
            if (csv_field(t, len, &pos, &arena, &line, &end_rec, name, err) != 0) {
                gen_catalog_free(cat);
                return -1;
            }
            if (nf < 8)
                fields[nf] = start;
            nf++;
        }
        if (nf != 8) {
            gen_catalog_free(cat);
            return err_set(err, "%s:%d: expected 8 fields, found %d", name, rec_line, nf);
        }
        if (cat->n == cap) {
            cap *= 2;
            gen_film_t *nfm = realloc(cat->films, cap * sizeof *nfm);
            if (nfm == NULL) {
                gen_catalog_free(cat);
                return err_set(err, "%s: out of memory", name);
            }
            cat->films = nfm;
        }
        gen_film_t *f = &cat->films[cat->n];
        f->id = fields[0];
        f->title = fields[1];
        f->genres = fields[3];
        f->directors = fields[4];
        f->cast = fields[5];
        f->keywords = fields[6];
        f->overview = fields[7];
        char *end = NULL;
        long y = strtol(fields[2], &end, 10);
        if (*f->id == '\0' || *f->title == '\0') {
            gen_catalog_free(cat);
            return err_set(err, "%s:%d: empty item_id or title", name, rec_line);
        }
        if (end == fields[2] || *end != '\0' || y < 1870 || y > 2100) {
            int rc = err_set(err, "%s:%d: bad year '%s'", name, rec_line, fields[2]);
            gen_catalog_free(cat);
            return rc;
        }
        f->year = (int)y;
        if (check_genres(f, name, rec_line, err) != 0) {
            gen_catalog_free(cat);
            return -1;
        }
        cat->n++;
    }
    if (cat->n == 0) {
        gen_catalog_free(cat);
        return err_set(err, "%s: no items", name);
    }
    const gen_film_t **byid = malloc(cat->n * sizeof *byid);
    if (byid == NULL) {
        gen_catalog_free(cat);
        return err_set(err, "%s: out of memory", name);
    }
    for (size_t i = 0; i < cat->n; i++)
        byid[i] = &cat->films[i];
    qsort(byid, cat->n, sizeof *byid, cmp_film_id);
    for (size_t i = 1; i < cat->n; i++)
        if (strcmp(byid[i]->id, byid[i - 1]->id) == 0) {
            err_set(err, "%s: duplicate item_id '%s'", name, byid[i]->id);
            free(byid);
            gen_catalog_free(cat);
            return -1;
        }
    free(byid);
    return 0;
}

int gen_catalog_load(gen_catalog_t *cat, const char *path, err_t *err)
{
    memset(cat, 0, sizeof *cat);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return err_errno(err, "%s", path);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (buf == NULL) {
            fclose(f);
            return err_set(err, "%s: out of memory", path);
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        if (cap >= (1u << 28)) {
            free(buf);
            fclose(f);
            return err_set(err, "%s: larger than 256 MB", path);
        }
        cap *= 2;
        char *nb = realloc(buf, cap);
        if (nb == NULL)
            free(buf);
        buf = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return err_set(err, "%s: read error", path);
    }
    const char *base = strrchr(path, '/');
    int rc = gen_catalog_parse(cat, buf, n, base ? base + 1 : path, err);
    free(buf);
    return rc;
}

int gen_layout_parse(const char *s, gen_layout_t *out, err_t *err)
{
    static const char *names[] = {"plain", "ml-latest", "ml-100k", "ml-1m"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (gen_layout_t)i;
            return 0;
        }
    return err_set(err, "unknown layout '%s' (plain, ml-latest, ml-100k or ml-1m)", s);
}

