/*
 * common/config.h - hsmca's configuration: one table of keys.
 *
 * Every key has a type, bounds, a default and a documentation line in
 * one table (common/config.c); the file parser, `--set KEY=VALUE`, the
 * documented file written by `hsmca init` and `hsmca config dump` all
 * follow it.  Keys are "section.name"; in the INI file they are written
 * as `name = value` under `[section]`.  Profile keys are
 * "profile.NAME.field" and match the table's "profile.*.field" rows.
 */
#ifndef HSMCA_COMMON_CONFIG_H
#define HSMCA_COMMON_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

struct hsmca_config;

/* A config holding only the table's defaults.  NULL on ENOMEM. */
struct hsmca_config *config_new(void);

/*
 * Read the INI file at `path` into `cfg`.  Unknown keys, values of the
 * wrong type or out of bounds are errors that name the file, line and
 * key.  On failure `cfg` is unchanged.
 */
int config_load(struct hsmca_config *cfg, const char *path,
    struct hsmca_err *err);

/* Set one key ("section.name") after checking it against the table. */
int config_set(struct hsmca_config *cfg, const char *key, const char *value,
    struct hsmca_err *err);

/* Parse "KEY=VALUE" (as given to --set) and set it. */
int config_set_arg(struct hsmca_config *cfg, const char *arg,
    struct hsmca_err *err);

/*
 * Value of `key` as set or as defaulted by the table; NULL when the key
 * has no value.  The pointer is owned by `cfg`, valid until the key is
 * set again or the config is freed.
 */
const char *config_get(const struct hsmca_config *cfg, const char *key);
int64_t config_get_int(const struct hsmca_config *cfg, const char *key);
bool config_get_bool(const struct hsmca_config *cfg, const char *key);

/*
 * A path key resolved against `base` when relative.  Writes into `out`
 * (of `len` bytes); returns 0, or HSMCA_EINVAL when unset or too long.
 */
int config_get_path(const struct hsmca_config *cfg, const char *key,
    const char *base, char *out, size_t len);

/* Write every key with its documentation and current value as INI. */
int config_dump(const struct hsmca_config *cfg, FILE *fp);

void config_free(struct hsmca_config *cfg);

#endif
