/* fuzz_config.c: argv-style option parsing never crashes on any input.
 * The input is split on NUL bytes into arguments. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/config.h"

static const cfg_option_t opts[] = {
    {"port", CFG_INT, "8080", "Port.", 1, 65535},
    {"name", CFG_STRING, "x", "Name.", 0, 0},
    {"ratio", CFG_DOUBLE, "0.5", "Ratio.", 0, 1},
    {"flag", CFG_BOOL, NULL, "Flag.", 0, 0},
    CFG_END,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[64];
    int argc = 0;
    argv[argc++] = "fuzz";
    for (size_t i = 0; i <= size && argc < 63;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;
    cfg_t *c = cfg_new("fuzz", NULL, NULL);
    err_t err;
    cfg_add(c, "t", opts, &err);
    /* --help would print; skip inputs asking for it. */
    int help = 0;
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "-h", 2) == 0 || strncmp(argv[i], "--help", 6) == 0)
            help = 1;
    if (!help && cfg_parse(c, argc, argv, &err) == 0) {
        (void)cfg_int(c, "port");
        (void)cfg_str(c, "name");
    }
    cfg_free(c);
    free(buf);
    return 0;
}
