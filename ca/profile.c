/*
 * ca/profile.c - issuance profiles (profile.NAME.* keys) and the CA/B
 * Forum maximum-validity schedule.
 */
#include "ca/ca_int.h"

#include <stdio.h>
#include <string.h>

#define DAY 86400

/*
 * CA/B BR 6.3.2 (ballot SC-081): the maximum subscriber validity steps
 * down on fixed dates.  Counted notBefore through notAfter inclusive.
 */
static const struct {
	int64_t from;		/* Unix seconds, 00:00:00Z */
	int64_t days;
	const char *date;
} schedule[] = {
	{ 1868227200, 47, "2029-03-15" },
	{ 1805068800, 100, "2027-03-15" },
	{ 1773532800, 200, "2026-03-15" },
};

int64_t
ca_max_validity(int64_t at)
{
	for (size_t i = 0; i < sizeof(schedule) / sizeof(schedule[0]); i++)
		if (at >= schedule[i].from)
			return schedule[i].days * DAY;
	return 398 * DAY;
}

int
ca_profile_check_validity(const struct ca_profile *p, int64_t at,
    struct hsmca_err *err)
{
	int64_t max = ca_max_validity(at);

	if (p->validity_secs <= max)
		return 0;
	return hsmca_err_set(err, HSMCA_EPOLICY, "malformed",
	    "CA/B BR 6.3.2: profile \"%s\" validity %lld hours exceeds the "
	    "%lld-day maximum in force now; use a shorter profile or lower "
	    "profile.%s.validity_hours", p->name,
	    (long long)(p->validity_secs / 3600), (long long)(max / DAY),
	    p->name);
}

/* Read one profile's keys; validity_hours has no default for new ones. */
static int
profile_load(const struct hsmca_config *cfg, const char *name,
    struct ca_profile *p, struct hsmca_err *err)
{
	char key[128];

	if (name[0] == '\0' || strlen(name) >= sizeof(p->name))
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "ca.profiles: bad profile name \"%.40s\"", name);
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(key, sizeof(key), "profile.%s.validity_hours", name);
	if (config_get(cfg, key) == NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "%s is not set (profile \"%s\" is listed in ca.profiles)",
		    key, name);
	p->validity_secs = config_get_int(cfg, key) * 3600;
	snprintf(key, sizeof(key), "profile.%s.max_names", name);
	p->max_names = (int)config_get_int(cfg, key);
	snprintf(key, sizeof(key), "profile.%s.wildcard", name);
	p->wildcard = config_get_bool(cfg, key);
	snprintf(key, sizeof(key), "profile.%s.ip", name);
	p->ip = config_get_bool(cfg, key);
	if (p->validity_secs <= 0 || p->max_names <= 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "profile \"%s\": validity and max_names must be positive",
		    name);
	return 0;
}

/* Load every profile named by ca.profiles and check ca.default_profile. */
int
ca_profiles_load(struct ca *ca, const struct hsmca_config *cfg,
    struct hsmca_err *err)
{
	const char *list = config_get(cfg, "ca.profiles");
	const char *def = config_get(cfg, "ca.default_profile");
	char name[STORE_PROFILE_MAX + 1];
	int rc;

	ca->nprofiles = 0;
	if (list == NULL || *list == '\0')
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "ca.profiles is empty; name at least one profile");
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, ",");
		size_t s = 0;

		/* Trim blanks around each comma-separated name. */
		while (s < n && (p[s] == ' ' || p[s] == '\t'))
			s++;
		while (n > s && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n - s > STORE_PROFILE_MAX)
			return hsmca_err_set(err, HSMCA_EINVAL, "config",
			    "ca.profiles: profile name longer than %d",
			    STORE_PROFILE_MAX - 1);
		memcpy(name, p + s, n - s);
		name[n - s] = '\0';
		if (ca->nprofiles == CA_MAX_PROFILES)
			return hsmca_err_set(err, HSMCA_EINVAL, "config",
			    "ca.profiles: more than %d profiles",
			    CA_MAX_PROFILES);
		if ((rc = profile_load(cfg, name,
		    &ca->profiles[ca->nprofiles], err)) != 0)
			return rc;
		ca->nprofiles++;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	if (def == NULL || strlen(def) >= sizeof(ca->default_profile))
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "ca.default_profile is not set");
	snprintf(ca->default_profile, sizeof(ca->default_profile), "%s", def);
	for (size_t i = 0; i < ca->nprofiles; i++)
		if (strcmp(ca->profiles[i].name, def) == 0)
			return 0;
	return hsmca_err_set(err, HSMCA_EINVAL, "config",
	    "ca.default_profile \"%s\" is not listed in ca.profiles \"%s\"",
	    def, list);
}

/* Look up by name; the error lists the configured profiles. */
int
ca_profile_get(const struct ca *ca, const char *name, struct ca_profile *out,
    struct hsmca_err *err)
{
	char names[256] = "";
	size_t used = 0;

	if (name == NULL)
		name = ca->default_profile;
	for (size_t i = 0; i < ca->nprofiles; i++) {
		if (strcmp(ca->profiles[i].name, name) == 0) {
			*out = ca->profiles[i];
			return 0;
		}
	}
	for (size_t i = 0; i < ca->nprofiles && used < sizeof(names); i++) {
		int n = snprintf(names + used, sizeof(names) - used, "%s%s",
		    i ? ", " : "", ca->profiles[i].name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return hsmca_err_set(err, HSMCA_ENOTFOUND, "malformed",
	    "unknown profile \"%.64s\"; configured: %s", name, names);
}
