/*
 * porter.c: NLTK 3.8's PorterStemmer (NLTK_EXTENSIONS), rule for rule.
 *
 * The word is lower-cased (text_lower, i.e. Python's str.lower()) and
 * decoded into an array of code points, because NLTK indexes, measures and
 * compares by code point; the steps then shorten the array in place (no
 * step ever makes the word longer than the lower-cased input) and the result
 * is encoded back to UTF-8.
 *
 * Rule lists keep NLTK's _apply_rule_list semantics: the first rule whose
 * suffix matches decides, and if its condition fails the word is returned
 * unchanged without trying later rules. Step 1b keeps two NLTK quirks: its
 * "*d" rule (double consonant) also fires on a literal "*d" ending, and the
 * last rule has the empty suffix. The consonant test is NLTK's recursive one
 * (y after a consonant is a vowel), computed iteratively so that long runs
 * of y cannot exhaust the stack.
 */
#include "common/text/porter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/text/text.h"
#include "common/text/utf8.h"

typedef struct word {
    uint32_t *c;
    size_t n;
} word_t;

static int is_vowel_letter(uint32_t c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* NLTK's _is_consonant(word, i). */
static int is_cons(const uint32_t *w, size_t i)
{
    if (is_vowel_letter(w[i]))
        return 0;
    if (w[i] != 'y')
        return 1;
    /* y: the opposite of the letter before, and a consonant at the start.
     * Over a run of k y's ending at i this alternates. */
    size_t k = 0;
    while (k <= i && w[i - k] == 'y')
        k++;
    if (k > i) /* the run starts the word, and a y at 0 is a consonant */
        return (k & 1) ? 1 : 0;
    int base = !is_vowel_letter(w[i - k]); /* w[i - k] is not a y */
    return (k & 1) ? !base : base;
}

/* m: the number of vowel-to-consonant transitions in w[0..n). */
static size_t measure(const uint32_t *w, size_t n)
{
    size_t m = 0;
    int prev_cons = 1; /* nothing before the start counts as a vowel */
    for (size_t i = 0; i < n; i++) {
        int c;
        if (is_vowel_letter(w[i]))
            c = 0;
        else if (w[i] == 'y')
            c = (i == 0) ? 1 : !prev_cons;
        else
            c = 1;
        if (c && !prev_cons && i > 0)
            m++;
        prev_cons = c;
    }
    return m;
}

static int contains_vowel(const uint32_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_cons(w, i))
            return 1;
    return 0;
}

static int ends_double_consonant(const uint32_t *w, size_t n)
{
    return n >= 2 && w[n - 1] == w[n - 2] && is_cons(w, n - 1);
}

/* Condition *o, with NLTK's extra two-letter vowel-consonant case. */
static int ends_cvc(const uint32_t *w, size_t n)
{
    if (n >= 3 && is_cons(w, n - 3) && !is_cons(w, n - 2) && is_cons(w, n - 1) &&
        w[n - 1] != 'w' && w[n - 1] != 'x' && w[n - 1] != 'y')
        return 1;
    return n == 2 && !is_cons(w, 0) && is_cons(w, 1);
}

static int ends_with(const word_t *w, const char *suf, size_t k)
{
    if (w->n < k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (w->c[w->n - k + i] != (unsigned char)suf[i])
            return 0;
    return 1;
}

/* Cuts the last k code points and appends the ASCII string rep. */
static void replace(word_t *w, size_t k, const char *rep)
{
    w->n -= k;
    for (; *rep; rep++)
        w->c[w->n++] = (unsigned char)*rep;
}

enum cond { C_NONE, C_M0, C_M1, C_ION, C_LOGI };

typedef struct rule {
    const char *suf;
    const char *rep;
    enum cond cond;
} rule_t;

static int cond_holds(enum cond c, const word_t *w, size_t stem_n)
{
    switch (c) {
    case C_NONE:
        return 1;
    case C_M0:
        return measure(w->c, stem_n) > 0;
    case C_M1:
        return measure(w->c, stem_n) > 1;
    case C_ION:
        return measure(w->c, stem_n) > 1 && stem_n > 0 &&
               (w->c[stem_n - 1] == 's' || w->c[stem_n - 1] == 't');
    case C_LOGI: /* the 'l' stays with the stem: word[:-3] */
        return measure(w->c, w->n - 3) > 0;
    }
    return 0;
}

/* NLTK's _apply_rule_list for plain suffix rules. */
static void apply_rules(word_t *w, const rule_t *rules, size_t nrules)
{
    for (size_t r = 0; r < nrules; r++) {
        size_t k = strlen(rules[r].suf);
        if (ends_with(w, rules[r].suf, k)) {
            if (cond_holds(rules[r].cond, w, w->n - k))
                replace(w, k, rules[r].rep);
            return;
        }
    }
}

#define NRULES(a) (sizeof(a) / sizeof((a)[0]))

static void step1a(word_t *w)
{
    static const rule_t rules[] = {
        {"sses", "ss", C_NONE},
        {"ies", "i", C_NONE},
        {"ss", "ss", C_NONE},
        {"s", "", C_NONE},
    };
    if (w->n == 4 && ends_with(w, "ies", 3)) {
        replace(w, 3, "ie");
        return;
    }
    apply_rules(w, rules, NRULES(rules));
}

static void step1b(word_t *w)
{
    if (ends_with(w, "ied", 3)) {
        replace(w, 3, w->n == 4 ? "ie" : "i");
        return;
    }
    if (ends_with(w, "eed", 3)) {
        if (measure(w->c, w->n - 3) > 0)
            replace(w, 3, "ee");
        return;
    }
    size_t k;
    if (ends_with(w, "ed", 2) && contains_vowel(w->c, w->n - 2))
        k = 2;
    else if (ends_with(w, "ing", 3) && contains_vowel(w->c, w->n - 3))
        k = 3;
    else
        return;
    w->n -= k; /* the intermediate stem */

    if (ends_with(w, "at", 2) || ends_with(w, "bl", 2) || ends_with(w, "iz", 2)) {
        w->c[w->n++] = 'e';
        return;
    }
    if (ends_double_consonant(w->c, w->n)) {
        uint32_t last = w->c[w->n - 1];
        if (last != 'l' && last != 's' && last != 'z')
            w->n--;
        return;
    }
    if (ends_with(w, "*d", 2)) {
        /* NLTK tests the "*d" rule's suffix literally too: stem[:-2] plus
         * the stem's last letter, 'd' (which passes the l/s/z test). */
        w->c[w->n - 2] = 'd';
        w->n--;
        return;
    }
    if (measure(w->c, w->n) == 1 && ends_cvc(w->c, w->n))
        w->c[w->n++] = 'e';
}

static void step1c(word_t *w)
{
    /* (*c and not c) Y -> I: the stem before y is longer than one letter
     * and ends with a consonant. */
    if (ends_with(w, "y", 1)) {
        size_t stem_n = w->n - 1;
        if (stem_n > 1 && is_cons(w->c, stem_n - 1))
            w->c[w->n - 1] = 'i';
    }
}

static void step2(word_t *w)
{
    static const rule_t rules[] = {
        {"ational", "ate", C_M0}, {"tional", "tion", C_M0}, {"enci", "ence", C_M0},
        {"anci", "ance", C_M0},   {"izer", "ize", C_M0},    {"bli", "ble", C_M0},
        {"alli", "al", C_M0},     {"entli", "ent", C_M0},   {"eli", "e", C_M0},
        {"ousli", "ous", C_M0},   {"ization", "ize", C_M0}, {"ation", "ate", C_M0},
        {"ator", "ate", C_M0},    {"alism", "al", C_M0},    {"iveness", "ive", C_M0},
        {"fulness", "ful", C_M0}, {"ousness", "ous", C_M0}, {"aliti", "al", C_M0},
        {"iviti", "ive", C_M0},   {"biliti", "ble", C_M0},  {"fulli", "ful", C_M0},
        {"logi", "log", C_LOGI},
    };
    /* NLTK applies ALLI -> AL first and, if it fires, runs step 2 again on
     * the result (which ends in "al", so this cannot repeat). */
    if (ends_with(w, "alli", 4) && measure(w->c, w->n - 4) > 0)
        replace(w, 4, "al");
    apply_rules(w, rules, NRULES(rules));
}

static void step3(word_t *w)
{
    static const rule_t rules[] = {
        {"icate", "ic", C_M0}, {"ative", "", C_M0}, {"alize", "al", C_M0},
        {"iciti", "ic", C_M0}, {"ical", "ic", C_M0}, {"ful", "", C_M0},
        {"ness", "", C_M0},
    };
    apply_rules(w, rules, NRULES(rules));
}

static void step4(word_t *w)
{
    static const rule_t rules[] = {
        {"al", "", C_M1},   {"ance", "", C_M1}, {"ence", "", C_M1},  {"er", "", C_M1},
        {"ic", "", C_M1},   {"able", "", C_M1}, {"ible", "", C_M1},  {"ant", "", C_M1},
        {"ement", "", C_M1}, {"ment", "", C_M1}, {"ent", "", C_M1},  {"ion", "", C_ION},
        {"ou", "", C_M1},   {"ism", "", C_M1},  {"ate", "", C_M1},   {"iti", "", C_M1},
        {"ous", "", C_M1},  {"ive", "", C_M1},  {"ize", "", C_M1},
    };
    apply_rules(w, rules, NRULES(rules));
}

static void step5a(word_t *w)
{
    if (ends_with(w, "e", 1)) {
        size_t m = measure(w->c, w->n - 1);
        if (m > 1 || (m == 1 && !ends_cvc(w->c, w->n - 1)))
            w->n--;
    }
}

static void step5b(word_t *w)
{
    if (ends_with(w, "ll", 2) && measure(w->c, w->n - 1) > 1)
        w->n--;
}

/* NLTK's pool of irregular forms, matched against the word as given. */
static const char *irregular(const char *word, size_t len)
{
    static const char *const pool[][2] = {
        {"sky", "sky"},         {"skies", "sky"},     {"dying", "die"},
        {"lying", "lie"},       {"tying", "tie"},     {"news", "news"},
        {"innings", "inning"},  {"inning", "inning"}, {"outings", "outing"},
        {"outing", "outing"},   {"cannings", "canning"}, {"canning", "canning"},
        {"howe", "howe"},       {"proceed", "proceed"}, {"exceed", "exceed"},
        {"succeed", "succeed"},
    };
    if (len < 3 || len > 8)
        return NULL;
    for (size_t i = 0; i < NRULES(pool); i++)
        if (strlen(pool[i][0]) == len && memcmp(pool[i][0], word, len) == 0)
            return pool[i][1];
    return NULL;
}

/* Copies src (n bytes) into out like snprintf, cutting only between
 * characters, and returns n. */
static size_t emit(const char *src, size_t n, char *out, size_t outcap)
{
    if (outcap == 0)
        return n;
    size_t w = n;
    if (w >= outcap) {
        w = outcap - 1;
        while (w > 0 && ((unsigned char)src[w] & 0xC0) == 0x80)
            w--;
    }
    memcpy(out, src, w);
    out[w] = '\0';
    return n;
}

size_t porter_stem(const char *word, size_t len, char *out, size_t outcap)
{
    const char *irr = irregular(word, len);
    if (irr)
        return emit(irr, strlen(irr), out, outcap);

    uint32_t stack_cps[PORTER_STACK_CPS];
    char stack_bytes[4 * PORTER_STACK_CPS];
    uint32_t *cps = stack_cps;
    char *bytes = stack_bytes;
    void *heap = NULL;
    size_t ncp = 0, orig_cps = 0;

    int ascii = 1;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)word[i] >= 0x80) {
            ascii = 0;
            break;
        }
    if (ascii && len <= PORTER_STACK_CPS) {
        for (size_t i = 0; i < len; i++) {
            unsigned b = (unsigned char)word[i];
            cps[i] = (b >= 'A' && b <= 'Z') ? b + 32 : b;
        }
        ncp = orig_cps = len;
    } else {
        size_t lowlen = TEXT_LOWER_MAX(len);
        if (lowlen + 1 > sizeof stack_bytes || lowlen > PORTER_STACK_CPS) {
            /* One block: room for one code point per lower-cased byte,
             * then the lower-cased bytes themselves. */
            heap = malloc(lowlen * sizeof(uint32_t) + lowlen + 1);
            if (!heap)
                return PORTER_ENOMEM;
            cps = heap;
            bytes = (char *)(cps + lowlen);
        }
        size_t lb = text_lower(word, len, bytes, lowlen + 1);
        for (size_t i = 0; i < lb;)
            i += utf8_decode(bytes + i, lb - i, &cps[ncp++]);
        orig_cps = utf8_count(word, len);
    }

    if (orig_cps > 2) {
        word_t w = {cps, ncp};
        step1a(&w);
        step1b(&w);
        step1c(&w);
        step2(&w);
        step3(&w);
        step4(&w);
        step5a(&w);
        step5b(&w);
        ncp = w.n;
    }

    /* Encode back into the byte buffer (the stem is never longer). */
    size_t nb = 0;
    for (size_t i = 0; i < ncp; i++)
        nb += utf8_encode(cps[i], bytes + nb);
    size_t r = emit(bytes, nb, out, outcap);
    free(heap);
    return r;
}
