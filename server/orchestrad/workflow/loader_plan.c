/*
 * loader_plan.c: workflow.json / version.json validation (pure, any thread) into a plan;
 * loader_write.c writes a plan (writer thread).
 *
 * Differences from upstream's load_workflow, all deliberate tightenings:
 *  - missing or wrongly typed keys get a message instead of a KeyError crash;
 *  - dependency cycles are refused (upstream failed later, in project_information);
 *  - review and assignment policies and machine execution functions are validated at load
 *    time (upstream found a bad policy only when a task was created or submitted);
 *  - every check, including the comparison with the stored version, runs before the first
 *    write, so a refused load never leaves anything behind even outside a transaction.
 */
#include "workflow/loader.h"

#include "slug.h"
#include "workflow/loader_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "store/dbutil.h"
#include "workflow/interfaces.h"
#include "workflow/sampledata.h"
#include "vec.h"

#define RETRY_MAX_ATTEMPTS 1000
#define RETRY_MAX_DELAY_MS 86400000 /* one day */

static const char DEFAULT_HUMAN_REVIEW[] = "{\"policy\":\"sampled_review\",\"rate\":1,"
                                           "\"max_reviews\":1}";
static const char DEFAULT_HUMAN_ASSIGNMENT[] = "{\"policy\":\"anyone_certified\"}";
static const char EMPTY_OBJECT[] = "{}";

/* ------------------------------------------------------------------------------------- */
/* small helpers */

int orci_ldi_oom(orc_error *err)
{
    return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory while loading a workflow");
}

static void free_strv(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* strv_has tells whether the sorted list v holds s. */
bool orci_ldi_strv_has(char *const *v, size_t n, const char *s)
{
    return n > 0 && bsearch(&s, v, n, sizeof *v, cmp_strp) != NULL;
}

/* A sorted slug -> position index, for lookups and duplicate detection. */

static int cmp_ix(const void *a, const void *b)
{
    return strcmp(((const slug_ix *)a)->slug, ((const slug_ix *)b)->slug);
}

long orci_ldi_ix_find(const slug_ix *ix, size_t n, const char *slug)
{
    if (n == 0)
        return -1;
    slug_ix key = {slug, 0};
    const slug_ix *hit = bsearch(&key, ix, n, sizeof *ix, cmp_ix);
    return hit ? (long)hit->idx : -1;
}

/* ix_dup returns a slug present twice in the sorted index, or NULL. */
static const char *ix_dup(const slug_ix *ix, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (strcmp(ix[i - 1].slug, ix[i].slug) == 0)
            return ix[i].slug;
    return NULL;
}

/*
 * slugs_index indexes n items of stride bytes whose slug (a char *) lies at offset in each:
 * steps and certifications share it. NULL when out of memory.
 */
static slug_ix *slugs_index(const void *items, size_t n, size_t stride, size_t offset)
{
    slug_ix *ix = malloc((n ? n : 1) * sizeof *ix);
    if (!ix)
        return NULL;
    for (size_t i = 0; i < n; i++)
        ix[i] = (slug_ix){*(char *const *)((const char *)items + i * stride + offset), i};
    qsort(ix, n, sizeof *ix, cmp_ix);
    return ix;
}

slug_ix *orci_ldi_steps_index(const orci_load_plan *p)
{
    return slugs_index(p->steps, p->n_steps, sizeof *p->steps, offsetof(orci_load_step, slug));
}

slug_ix *orci_ldi_certs_index(const orci_load_plan *p)
{
    return slugs_index(p->certs, p->n_certs, sizeof *p->certs, offsetof(orci_load_cert, slug));
}

/* ------------------------------------------------------------------------------------- */
/* reading JSON fields */

/*
 * str_field copies the string obj[key] into *out. ctx names the object in messages
 * ("version.json (v1): step 3"); limit is the longest allowed length in characters (0: no
 * limit); nonempty refuses "".
 */
static int str_field(const json_t *obj, const char *key, const char *ctx, size_t limit,
                     bool nonempty, char **out, orc_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s is missing \"%s\"", ctx, key);
    if (!json_is_string(v))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s: \"%s\" must be a string", ctx, key);
    const char *s = json_string_value(v);
    if (nonempty && !*s)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s: \"%s\" must not be empty", ctx, key);
    if (limit && orci_utf8_chars(s) > limit)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s: \"%s\" is longer than %zu characters",
                             ctx, key, limit);
    *out = strdup(s);
    return *out ? ORC_OK : orci_ldi_oom(err);
}

/* slug_field is str_field for a slug: non-empty, at most ORCI_SLUG_MAX, upstream's rule. */
static int slug_field(const json_t *obj, const char *ctx, char **out, orc_error *err)
{
    int rc = str_field(obj, "slug", ctx, ORCI_SLUG_MAX, true, out, err);
    if (rc != ORC_OK || orci_slug_valid(*out))
        return rc;
    rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                       "%s: slug \"%.200s\" may only contain letters, digits, - and _", ctx, *out);
    free(*out);
    *out = NULL;
    return rc;
}

/*
 * slug_list reads the optional list of strings obj[key] into *out (sorted, duplicates
 * removed: upstream stores these as sets). `what` names the attribute in messages.
 */
static int slug_list(const json_t *obj, const char *key, const char *what, char ***out, size_t *n,
                     orc_error *err)
{
    *out = NULL;
    *n = 0;
    json_t *v = json_object_get(obj, key);
    if (!v)
        return ORC_OK;
    if (!json_is_array(v))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s must be a list of strings", what);
    size_t cnt = json_array_size(v);
    if (cnt == 0)
        return ORC_OK;
    char **list = calloc(cnt, sizeof *list);
    if (!list)
        return orci_ldi_oom(err);
    for (size_t i = 0; i < cnt; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_string(e)) {
            free_strv(list, i);
            return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s must be a list of strings", what);
        }
        list[i] = strdup(json_string_value(e));
        if (!list[i]) {
            free_strv(list, i);
            return orci_ldi_oom(err);
        }
    }
    qsort(list, cnt, sizeof *list, cmp_strp);
    size_t k = 0;
    for (size_t i = 0; i < cnt; i++) {
        if (k > 0 && strcmp(list[k - 1], list[i]) == 0)
            free(list[i]);
        else
            list[k++] = list[i];
    }
    *out = list;
    *n = k;
    return ORC_OK;
}

/*
 * object_text dumps the optional object obj[key] as compact JSON into *out, or copies dflt
 * when the key is absent. `what` names the attribute in messages.
 */
static int object_text(const json_t *obj, const char *key, const char *what, const char *dflt,
                       char **out, orc_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        *out = strdup(dflt);
        return *out ? ORC_OK : orci_ldi_oom(err);
    }
    if (!json_is_object(v))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s must be a JSON object", what);
    *out = orci_json_dump(v);
    return *out ? ORC_OK : orci_ldi_oom(err);
}

/* ------------------------------------------------------------------------------------- */
/* plans */

static void step_fini(orci_load_step *s)
{
    free(s->slug);
    free(s->name);
    free(s->description);
    free_strv(s->creation_depends_on, s->n_creation_depends_on);
    free_strv(s->submission_depends_on, s->n_submission_depends_on);
    free_strv(s->required_certifications, s->n_required_certifications);
    free(s->review_policy);
    free(s->assignment_policy);
    free(s->execution_function);
    free(s->user_interface);
    free(s->retry_policy);
    free(s->creation_policy);
}

void orci_load_plan_free(orci_load_plan *p)
{
    if (!p)
        return;
    free(p->app);
    free(p->workflow_slug);
    free(p->workflow_name);
    free(p->workflow_description);
    free(p->code_directory);
    free(p->sample_data_load_function);
    free(p->sample_data);
    for (size_t i = 0; i < p->n_certs; i++) {
        free(p->certs[i].slug);
        free(p->certs[i].name);
        free(p->certs[i].description);
        free_strv(p->certs[i].required, p->certs[i].n_required);
    }
    free(p->certs);
    free(p->version_slug);
    free(p->version_name);
    free(p->version_description);
    for (size_t i = 0; i < p->n_steps; i++)
        step_fini(&p->steps[i]);
    free(p->steps);
    free(p->abort_completion_function);
    free(p);
}

/* One version.json of the bundle: its folder name and parsed root (NULL when broken). */
typedef struct vdoc {
    char ctx[320]; /* "version.json (<dir>)" */
    json_t *root;
} vdoc;

static void vdoc_ctx(vdoc *d, const Orchestra__V1__VersionFile *vf, size_t i)
{
    if (vf->dir && *vf->dir)
        snprintf(d->ctx, sizeof d->ctx, "version.json (%.280s)", vf->dir);
    else
        snprintf(d->ctx, sizeof d->ctx, "version.json (#%zu)", i + 1);
}

static int plan_workflow(const json_t *wf, orci_load_plan *p, orc_error *err)
{
    int rc;
    if ((rc = slug_field(wf, "workflow.json", &p->workflow_slug, err)) != ORC_OK ||
        (rc = str_field(wf, "name", "workflow.json", ORCI_SLUG_MAX, false, &p->workflow_name,
                        err)) != ORC_OK ||
        (rc = str_field(wf, "description", "workflow.json", 0, false, &p->workflow_description,
                        err)) != ORC_OK)
        return rc;
    rc =
        object_text(wf, "sample_data_load_function", "workflow.json: \"sample_data_load_function\"",
                    EMPTY_OBJECT, &p->sample_data_load_function, err);
    if (rc != ORC_OK)
        return rc;

    json_t *certs = json_object_get(wf, "certifications");
    if (!certs)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "workflow.json is missing \"certifications\"");
    if (!json_is_array(certs))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "workflow.json: \"certifications\" must be a list");
    size_t n = json_array_size(certs);
    if (n > 0) {
        p->certs = calloc(n, sizeof *p->certs);
        if (!p->certs)
            return orci_ldi_oom(err);
    }
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(certs, i);
        char ctx[64];
        snprintf(ctx, sizeof ctx, "workflow.json: certification %zu", i + 1);
        if (!json_is_object(c))
            return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s is not an object", ctx);
        orci_load_cert *pc = &p->certs[p->n_certs++];
        if ((rc = slug_field(c, ctx, &pc->slug, err)) != ORC_OK ||
            (rc = str_field(c, "name", ctx, ORCI_SLUG_MAX, false, &pc->name, err)) != ORC_OK ||
            (rc = str_field(c, "description", ctx, 0, false, &pc->description, err)) != ORC_OK)
            return rc;
        char what[300];
        snprintf(what, sizeof what, "Certification %.200s required_certifications", pc->slug);
        rc = slug_list(c, "required_certifications", what, &pc->required, &pc->n_required, err);
        if (rc != ORC_OK)
            return rc;
    }

    slug_ix *ix = orci_ldi_certs_index(p);
    if (!ix)
        return orci_ldi_oom(err);
    const char *dup = ix_dup(ix, p->n_certs);
    if (dup) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                           "workflow.json: certification slug \"%s\" is used twice", dup);
        goto out;
    }
    for (size_t i = 0; i < p->n_certs; i++)
        for (size_t j = 0; j < p->certs[i].n_required; j++)
            if (orci_ldi_ix_find(ix, p->n_certs, p->certs[i].required[j]) < 0) {
                rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                                   "Certification %s requires non-existent certification.",
                                   p->certs[i].slug);
                goto out;
            }
out:
    free(ix);
    return rc;
}

static int plan_step(const json_t *js, const char *ctx, orci_load_step *s, orc_error *err)
{
    int rc;
    if ((rc = slug_field(js, ctx, &s->slug, err)) != ORC_OK ||
        (rc = str_field(js, "name", ctx, ORCI_SLUG_MAX, false, &s->name, err)) != ORC_OK ||
        (rc = str_field(js, "description", ctx, 0, false, &s->description, err)) != ORC_OK)
        return rc;

    json_t *h = json_object_get(js, "is_human");
    s->is_human = true;
    if (h) {
        if (!json_is_boolean(h))
            return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s.is_human must be true or false",
                                 s->slug);
        s->is_human = json_is_true(h);
    }

    static const char *const list_keys[] = {"creation_depends_on", "submission_depends_on",
                                            "required_certifications"};
    char ***lists[] = {&s->creation_depends_on, &s->submission_depends_on,
                       &s->required_certifications};
    size_t *counts[] = {&s->n_creation_depends_on, &s->n_submission_depends_on,
                        &s->n_required_certifications};
    for (size_t k = 0; k < 3; k++) {
        char what[300];
        snprintf(what, sizeof what, "%.200s.%s", s->slug, list_keys[k]);
        rc = slug_list(js, list_keys[k], what, lists[k], counts[k], err);
        if (rc != ORC_OK)
            return rc;
    }

    static const char *const obj_keys[] = {"review_policy", "assignment_policy",
                                           "execution_function", "user_interface", "retry_policy"};
    char **texts[] = {&s->review_policy, &s->assignment_policy, &s->execution_function,
                      &s->user_interface, &s->retry_policy};
    const char *dflts[] = {s->is_human ? DEFAULT_HUMAN_REVIEW : EMPTY_OBJECT,
                           s->is_human ? DEFAULT_HUMAN_ASSIGNMENT : EMPTY_OBJECT, EMPTY_OBJECT,
                           EMPTY_OBJECT, EMPTY_OBJECT};
    for (size_t k = 0; k < 5; k++) {
        char what[300];
        snprintf(what, sizeof what, "%.200s.%s", s->slug, obj_keys[k]);
        rc = object_text(js, obj_keys[k], what, dflts[k], texts[k], err);
        if (rc != ORC_OK)
            return rc;
    }
    return orci_ldi_plan_head_step(js, s, err);
}

/* check_refs refuses unknown slugs in a step's certification and dependency lists. */
static int check_refs(const orci_load_plan *p, const slug_ix *six, const slug_ix *cix,
                      orc_error *err)
{
    for (size_t i = 0; i < p->n_steps; i++) {
        const orci_load_step *s = &p->steps[i];
        for (size_t j = 0; j < s->n_required_certifications; j++)
            if (orci_ldi_ix_find(cix, p->n_certs, s->required_certifications[j]) < 0)
                return orc_error_set(err, ORC_INVALID_ARGUMENT,
                                     "%s.required_certifications contains a non-existent "
                                     "slug.",
                                     s->slug);
    }
    for (size_t i = 0; i < p->n_steps; i++) {
        const orci_load_step *s = &p->steps[i];
        for (size_t j = 0; j < s->n_creation_depends_on; j++)
            if (orci_ldi_ix_find(six, p->n_steps, s->creation_depends_on[j]) < 0)
                return orc_error_set(err, ORC_INVALID_ARGUMENT,
                                     "%s.creation_depends_on contains a non-existent slug.",
                                     s->slug);
        for (size_t j = 0; j < s->n_submission_depends_on; j++)
            if (orci_ldi_ix_find(six, p->n_steps, s->submission_depends_on[j]) < 0)
                return orc_error_set(err, ORC_INVALID_ARGUMENT,
                                     "%s.submission_depends_on contains a non-existent slug.",
                                     s->slug);
    }
    return ORC_OK;
}

/* The dependencies of step i, creation ones first: index k of orci_ldi_n_deps(). */
size_t orci_ldi_n_deps(const orci_load_step *s)
{
    return s->n_creation_depends_on + s->n_submission_depends_on;
}

const char *orci_ldi_dep_at(const orci_load_step *s, size_t k)
{
    return k < s->n_creation_depends_on ? s->creation_depends_on[k]
                                        : s->submission_depends_on[k - s->n_creation_depends_on];
}

/*
 * check_cycles refuses a dependency cycle over the union of creation and submission
 * dependencies (our addition: upstream failed later, in project_information). Iterative
 * depth-first search, so a long chain cannot exhaust the stack.
 */
static int check_cycles(const orci_load_plan *p, const slug_ix *six, orc_error *err)
{
    int rc = ORC_OK;
    size_t n = p->n_steps;
    if (n == 0)
        return ORC_OK;
    unsigned char *color = calloc(n, 1); /* 0 unvisited, 1 on the path, 2 done */
    size_t *stack = malloc(n * sizeof *stack);
    size_t *next = calloc(n, sizeof *next); /* next dependency to explore per step */
    if (!color || !stack || !next) {
        rc = orci_ldi_oom(err);
        goto out;
    }
    for (size_t root = 0; root < n; root++) {
        if (color[root])
            continue;
        size_t top = 0;
        stack[top++] = root;
        color[root] = 1;
        while (top > 0) {
            size_t u = stack[top - 1];
            const orci_load_step *s = &p->steps[u];
            if (next[u] == orci_ldi_n_deps(s)) {
                color[u] = 2;
                top--;
                continue;
            }
            long v = orci_ldi_ix_find(six, n, orci_ldi_dep_at(s, next[u]++));
            if (v < 0 || color[v] == 2)
                continue;
            if (color[v] == 0) {
                color[v] = 1;
                stack[top++] = (size_t)v;
                continue;
            }
            /* A back edge: the cycle is the path from v to u, then v again. */
            char msg[ORC_ERROR_MESSAGE_MAX];
            size_t at = 0, from = top;
            while (from > 0 && stack[from - 1] != (size_t)v)
                from--;
            from = from > 0 ? from - 1 : 0;
            for (size_t k = from; k < top && at < sizeof msg; k++)
                at +=
                    (size_t)snprintf(msg + at, sizeof msg - at, "%s -> ", p->steps[stack[k]].slug);
            if (at < sizeof msg)
                snprintf(msg + at, sizeof msg - at, "%s", p->steps[v].slug);
            rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                               "Workflow version %s has a dependency cycle: %s", p->version_slug,
                               msg);
            goto out;
        }
    }
out:
    free(color);
    free(stack);
    free(next);
    return rc;
}

static json_t *parse_text(const char *text, const char *what)
{
    orc_error ignored = {0};
    return orci_json_parse_object(text, strlen(text), what, &ignored);
}

static bool is_nonempty_string(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

static int check_review_policy(const orci_load_step *s, orc_error *err)
{
    if (!s->is_human)
        return ORC_OK;
    int rc = ORC_OK;
    json_t *rp = parse_text(s->review_policy, "review_policy");
    if (!rp)
        return orci_ldi_oom(err);
    const char *why = NULL;
    json_t *policy = json_object_get(rp, "policy");
    if (!json_is_string(policy)) {
        why = "\"policy\" must be \"no_review\" or \"sampled_review\"";
    } else if (strcmp(json_string_value(policy), "no_review") == 0) {
        why = NULL;
    } else if (strcmp(json_string_value(policy), "sampled_review") == 0) {
        json_t *rate = json_object_get(rp, "rate");
        json_t *max = json_object_get(rp, "max_reviews");
        if (!json_is_number(rate) || json_number_value(rate) < 0 || json_number_value(rate) > 1)
            why = "\"rate\" must be a number between 0 and 1";
        else if (!json_is_integer(max) || json_integer_value(max) < 0)
            why = "\"max_reviews\" must be an integer of at least 0";
    } else {
        why = "\"policy\" must be \"no_review\" or \"sampled_review\"";
    }
    if (why)
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "%s.review_policy is invalid: %s", s->slug,
                           why);
    json_decref(rp);
    return rc;
}

static int check_assignment_policy(const orci_load_plan *p, const slug_ix *six,
                                   const orci_load_step *s, orc_error *err)
{
    int rc = ORC_OK;
    json_t *ap = parse_text(s->assignment_policy, "assignment_policy");
    if (!ap)
        return orci_ldi_oom(err);
    json_t *policy = json_object_get(ap, "policy");
    if (!s->is_human) {
        if (policy)
            rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                               "Machine step should not have assignment policy.");
        goto out;
    }
    const char *why = NULL;
    const char *name = json_is_string(policy) ? json_string_value(policy) : "";
    if (strcmp(name, "anyone_certified") == 0) {
        why = NULL;
    } else if (strcmp(name, "previously_completed_steps") == 0) {
        json_t *steps = json_object_get(ap, "steps");
        if (!json_is_array(steps) || json_array_size(steps) == 0) {
            why = "\"steps\" must be a non-empty list of human step slugs";
        } else {
            for (size_t i = 0; i < json_array_size(steps) && !why; i++) {
                json_t *e = json_array_get(steps, i);
                long k = json_is_string(e) ? orci_ldi_ix_find(six, p->n_steps, json_string_value(e))
                                           : -1;
                if (k < 0 || !p->steps[k].is_human)
                    why = "\"steps\" must list human steps of this version";
                else if (&p->steps[k] == s)
                    why = "a step cannot be assigned from its own completion";
            }
        }
    } else if (strcmp(name, "specified_worker") == 0) {
        if (!is_nonempty_string(json_object_get(ap, "username")))
            why = "\"username\" must be a non-empty string";
    } else {
        why = "\"policy\" must be \"anyone_certified\", \"previously_completed_steps\" or "
              "\"specified_worker\"";
    }
    if (why)
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "%s.assignment_policy is invalid: %s",
                           s->slug, why);
out:
    json_decref(ap);
    return rc;
}

/* is_dotted_name: two or more Python identifiers joined by dots ("pkg.mod.fn"). */
static bool is_dotted_name(const json_t *v)
{
    const char *p = json_string_value(v);
    int parts = 0;
    if (!p)
        return false;
    for (;; p++) {
        if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
            return false;
        while (*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
               (*p >= '0' && *p <= '9'))
            p++;
        parts++;
        if (!*p)
            return parts >= 2;
        if (*p != '.')
            return false;
    }
}

/*
 * check_execution_function accepts a machine step's three forms: DOC's {"module", "name"}
 * (a C plugin's function "module.name" where one provides it, else the Python function),
 * HEAD's {"path": "pkg.mod.fn", "kwargs": {...}} (spec 8; kwargs optional) and our
 * {"command": [...]}. Mixing them is refused: which one runs would be a guess.
 */
static int check_execution_function(const orci_load_step *s, orc_error *err)
{
    if (s->is_human)
        return ORC_OK;
    json_t *ef = parse_text(s->execution_function, "execution_function");
    if (!ef)
        return orci_ldi_oom(err);
    json_t *module = json_object_get(ef, "module");
    json_t *name = json_object_get(ef, "name");
    json_t *command = json_object_get(ef, "command");
    json_t *path = json_object_get(ef, "path");
    json_t *kwargs = json_object_get(ef, "kwargs");
    bool ok = false;
    if (path) {
        ok = !module && !name && !command && is_dotted_name(path) &&
             (!kwargs || json_is_object(kwargs)) && json_object_size(ef) == (kwargs ? 2u : 1u);
    } else if (!command) {
        ok = is_nonempty_string(module) && is_nonempty_string(name) && !kwargs;
    } else if (!module && !name && !kwargs && json_is_array(command) &&
               json_array_size(command) > 0) {
        ok = true;
        for (size_t i = 0; i < json_array_size(command); i++)
            if (!is_nonempty_string(json_array_get(command, i)))
                ok = false;
    }
    json_decref(ef);
    if (ok)
        return ORC_OK;
    return orc_error_set(err, ORC_INVALID_ARGUMENT,
                         "%s.execution_function is invalid: a machine step needs "
                         "{\"module\": \"...\", \"name\": \"...\"}, {\"path\": "
                         "\"package.module.function\", \"kwargs\": {...}} (kwargs optional) or "
                         "{\"command\": [\"program\", ...]}",
                         s->slug);
}

/* check_retry_policy validates our retry_policy extension (machine steps only). */
static int check_retry_policy(const orci_load_step *s, orc_error *err)
{
    json_t *rp = parse_text(s->retry_policy, "retry_policy");
    if (!rp)
        return orci_ldi_oom(err);
    const char *why = NULL;
    if (s->is_human && json_object_size(rp) > 0)
        why = "only machine steps are retried";
    json_int_t initial = 0;
    const char *key;
    json_t *v;
    json_object_foreach(rp, key, v)
    {
        if (why)
            break;
        if (strcmp(key, "max_attempts") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                json_integer_value(v) > RETRY_MAX_ATTEMPTS)
                why = "\"max_attempts\" must be an integer from 1 to 1000";
        } else if (strcmp(key, "initial_delay_ms") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > RETRY_MAX_DELAY_MS)
                why = "\"initial_delay_ms\" must be an integer from 0 to 86400000";
            else
                initial = json_integer_value(v);
        } else if (strcmp(key, "max_delay_ms") != 0) {
            why = "only \"max_attempts\", \"initial_delay_ms\" and \"max_delay_ms\" are "
                  "allowed";
        }
    }
    json_t *max = json_object_get(rp, "max_delay_ms");
    if (!why && max &&
        (!json_is_integer(max) || json_integer_value(max) < initial ||
         json_integer_value(max) > RETRY_MAX_DELAY_MS))
        why = "\"max_delay_ms\" must be an integer from \"initial_delay_ms\" to 86400000";
    json_decref(rp);
    if (!why)
        return ORC_OK;
    return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s.retry_policy is invalid: %s", s->slug, why);
}

/*
 * check_policies validates policies at load time. A deliberate tightening: upstream stored
 * any JSON here and only failed later, when a task was created (assignment policy) or
 * submitted (review policy), which could leave a half-created project behind.
 */
static int check_policies(const orci_load_plan *p, const slug_ix *six, orc_error *err)
{
    int rc = ORC_OK;
    for (size_t i = 0; i < p->n_steps && rc == ORC_OK; i++) {
        const orci_load_step *s = &p->steps[i];
        if ((rc = check_review_policy(s, err)) != ORC_OK ||
            (rc = check_assignment_policy(p, six, s, err)) != ORC_OK ||
            (rc = check_execution_function(s, err)) != ORC_OK)
            break;
        rc = check_retry_policy(s, err);
    }
    return rc;
}

static int plan_version(const json_t *vj, const char *ctx, orci_load_plan *p, orc_error *err)
{
    int rc;
    if ((rc = slug_field(vj, ctx, &p->version_slug, err)) != ORC_OK ||
        (rc = str_field(vj, "name", ctx, ORCI_SLUG_MAX, false, &p->version_name, err)) != ORC_OK ||
        (rc = str_field(vj, "description", ctx, 0, false, &p->version_description, err)) !=
            ORC_OK ||
        (rc = orci_ldi_plan_head_version(vj, ctx, p, err)) != ORC_OK)
        return rc;
    json_t *steps = json_object_get(vj, "steps");
    if (!steps)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s is missing \"steps\"", ctx);
    if (!json_is_array(steps))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s: \"steps\" must be a list", ctx);
    size_t n = json_array_size(steps);
    if (n > 0) {
        p->steps = calloc(n, sizeof *p->steps);
        if (!p->steps)
            return orci_ldi_oom(err);
    }
    for (size_t i = 0; i < n; i++) {
        json_t *js = json_array_get(steps, i);
        char sctx[400];
        snprintf(sctx, sizeof sctx, "%s: step %zu", ctx, i + 1);
        if (!json_is_object(js))
            return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s is not an object", sctx);
        rc = plan_step(js, sctx, &p->steps[p->n_steps++], err);
        if (rc != ORC_OK)
            return rc;
    }
    return ORC_OK;
}

static int plan_sample_data(const Orchestra__V1__WorkflowBundle *b, orci_load_plan *p,
                            orc_error *err)
{
    if (!b->sample_data_json || !*b->sample_data_json)
        return ORC_OK;
    const char **slugs = malloc((p->n_certs ? p->n_certs : 1) * sizeof *slugs);
    if (!slugs)
        return orci_ldi_oom(err);
    for (size_t i = 0; i < p->n_certs; i++)
        slugs[i] = p->certs[i].slug;
    orci_sample_data *sd = NULL;
    int rc = orci_sample_data_parse(b->sample_data_json, strlen(b->sample_data_json), slugs,
                                    p->n_certs, &sd, err);
    free(slugs);
    orci_sample_data_free(sd);
    if (rc != ORC_OK)
        return rc;
    /* Stored compact and re-validated on use: the text is what orci_sample_data_load reads. */
    json_t *root = orci_json_parse_object(b->sample_data_json, strlen(b->sample_data_json),
                                          "sample_data.json", err);
    if (!root)
        return orci_db_code(err);
    p->sample_data = orci_json_dump(root);
    json_decref(root);
    return p->sample_data ? ORC_OK : orci_ldi_oom(err);
}

/* attach_modules keeps the interface module each step names with it (interfaces.h). */
static int attach_modules(const Orchestra__V1__WorkflowBundle *b, orci_load_plan *p, orc_error *err)
{
    int rc = ORC_OK;
    for (size_t i = 0; i < p->n_steps && rc == ORC_OK; i++)
        rc = orci_interface_attach(b, p->steps[i].slug, &p->steps[i].user_interface, err);
    return rc;
}

/*
 * plan_build makes the plan of version_slug from the parsed workflow.json wf and the parsed
 * version files docs (a NULL root is a broken file, skipped when matching slugs).
 */
static int plan_build(const Orchestra__V1__WorkflowBundle *b, const json_t *wf, const vdoc *docs,
                      size_t n_docs, const char *version_slug, orci_load_plan **out, orc_error *err)
{
    int rc = ORC_OK;
    slug_ix *six = NULL, *cix = NULL;
    orci_load_plan *p = calloc(1, sizeof *p);
    if (!p)
        return orci_ldi_oom(err);
    p->app = strdup(b->app ? b->app : "");
    p->code_directory = strdup(b->code_directory ? b->code_directory : "");
    if (!p->app || !p->code_directory) {
        rc = orci_ldi_oom(err);
        goto out;
    }
    if (!*p->code_directory) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "Workflow directory does not exist.");
        goto out;
    }
    if (orci_utf8_chars(p->code_directory) > 255) {
        rc =
            orc_error_set(err, ORC_INVALID_ARGUMENT,
                          "Workflow directory %s is longer than 255 characters", p->code_directory);
        goto out;
    }
    rc = plan_workflow(wf, p, err);
    if (rc != ORC_OK)
        goto out;

    if (n_docs == 0) {
        rc =
            orc_error_set(err, ORC_INVALID_ARGUMENT,
                          "Workflow directory %s does not contain any versions", p->code_directory);
        goto out;
    }
    const vdoc *chosen = NULL;
    size_t matches = 0;
    for (size_t i = 0; i < n_docs; i++) {
        json_t *slug = docs[i].root ? json_object_get(docs[i].root, "slug") : NULL;
        if (json_is_string(slug) && strcmp(json_string_value(slug), version_slug) == 0) {
            matches++;
            chosen = &docs[i];
        }
    }
    if (matches != 1) {
        rc =
            orc_error_set(err, ORC_INVALID_ARGUMENT, "Invalid version requested: %s", version_slug);
        goto out;
    }
    rc = plan_version(chosen->root, chosen->ctx, p, err);
    if (rc != ORC_OK)
        goto out;

    six = orci_ldi_steps_index(p);
    cix = orci_ldi_certs_index(p);
    if (!six || !cix) {
        rc = orci_ldi_oom(err);
        goto out;
    }
    const char *dup = ix_dup(six, p->n_steps);
    if (dup) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "%s: step slug \"%s\" is used twice",
                           chosen->ctx, dup);
        goto out;
    }
    if ((rc = check_refs(p, six, cix, err)) != ORC_OK ||
        (rc = check_cycles(p, six, err)) != ORC_OK ||
        (rc = check_policies(p, six, err)) != ORC_OK || (rc = attach_modules(b, p, err)) != ORC_OK)
        goto out;
    rc = plan_sample_data(b, p, err);
out:
    free(six);
    free(cix);
    if (rc != ORC_OK)
        orci_load_plan_free(p);
    else
        *out = p;
    return rc;
}

static void vdocs_free(vdoc *docs, size_t n)
{
    if (!docs)
        return;
    for (size_t i = 0; i < n; i++)
        json_decref(docs[i].root);
    free(docs);
}

static json_t *parse_workflow_json(const Orchestra__V1__WorkflowBundle *b, orc_error *err)
{
    const char *text = b->workflow_json ? b->workflow_json : "";
    return orci_json_parse_object(text, strlen(text), "workflow.json", err);
}

int orci_loader_plan(const Orchestra__V1__WorkflowBundle *b, const char *version_slug,
                     orci_load_plan **out, orc_error *err)
{
    int rc = ORC_OK;
    vdoc *docs = NULL;
    *out = NULL;
    if (!b)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "Workflow directory does not exist.");
    json_t *wf = parse_workflow_json(b, err);
    if (!wf)
        return orci_db_code(err);
    if (b->n_versions > 0) {
        docs = calloc(b->n_versions, sizeof *docs);
        if (!docs) {
            rc = orci_ldi_oom(err);
            goto out;
        }
    }
    for (size_t i = 0; i < b->n_versions; i++) {
        const Orchestra__V1__VersionFile *vf = b->versions[i];
        vdoc_ctx(&docs[i], vf, i);
        const char *text = vf->json ? vf->json : "";
        docs[i].root = orci_json_parse_object(text, strlen(text), docs[i].ctx, err);
        if (!docs[i].root) {
            rc = orci_db_code(err);
            goto out;
        }
    }
    rc = plan_build(b, wf, docs, b->n_versions, version_slug ? version_slug : "", out, err);
out:
    vdocs_free(docs, b->n_versions);
    json_decref(wf);
    return rc;
}

/* ------------------------------------------------------------------------------------- */
/* load-all */

void orci_load_all_free(orci_load_all *all)
{
    if (!all)
        return;
    for (size_t i = 0; i < all->n_items; i++) {
        free(all->items[i].app);
        free(all->items[i].workflow);
        free(all->items[i].version);
        orci_load_plan_free(all->items[i].plan);
    }
    free(all->items);
    free(all);
}

/* add_item appends an item (strings copied) and returns it, or NULL when out of memory. */
static orci_load_item *add_item(orci_load_all *all, size_t *cap, const char *app,
                                const char *workflow, const char *version)
{
    if (!orci_grow(&all->items, cap, all->n_items + 1, sizeof *all->items))
        return NULL;
    orci_load_item *it = &all->items[all->n_items];
    memset(it, 0, sizeof *it);
    it->app = strdup(app ? app : "");
    it->workflow = strdup(workflow ? workflow : "");
    it->version = strdup(version ? version : "");
    all->n_items++;
    if (!it->app || !it->workflow || !it->version)
        return NULL;
    return it;
}

void orci_ldi_item_fail(orci_load_item *it, const orc_error *e)
{
    it->status = e->code != ORC_OK ? (int)e->code : ORC_INTERNAL;
    snprintf(it->message, sizeof it->message, "%s", e->message);
}

/* plan_bundle adds the items of one bundle whose workflow.json parsed as wf. */
static int plan_bundle(const Orchestra__V1__WorkflowBundle *b, const json_t *wf, orci_load_all *all,
                       size_t *cap, orc_error *err)
{
    json_t *ws = json_object_get(wf, "slug");
    const char *wslug = json_is_string(ws) ? json_string_value(ws) : "";
    orc_error e = {0};
    orci_load_item *it;
    if (b->n_versions == 0) {
        /* plan_build reports the missing versions (or an earlier workflow.json problem). */
        if (!(it = add_item(all, cap, b->app, wslug, "")))
            return orci_ldi_oom(err);
        if (plan_build(b, wf, NULL, 0, "", &it->plan, &e) != ORC_OK)
            orci_ldi_item_fail(it, &e);
        return ORC_OK;
    }
    vdoc *docs = calloc(b->n_versions, sizeof *docs);
    if (!docs)
        return orci_ldi_oom(err);
    for (size_t i = 0; i < b->n_versions; i++) {
        const Orchestra__V1__VersionFile *vf = b->versions[i];
        const char *text = vf->json ? vf->json : "";
        vdoc_ctx(&docs[i], vf, i);
        orc_error pe = {0};
        docs[i].root = orci_json_parse_object(text, strlen(text), docs[i].ctx, &pe);
    }
    int rc = ORC_OK;
    for (size_t i = 0; i < b->n_versions; i++) {
        json_t *vs = docs[i].root ? json_object_get(docs[i].root, "slug") : NULL;
        const char *vslug = json_is_string(vs) ? json_string_value(vs) : b->versions[i]->dir;
        if (!(it = add_item(all, cap, b->app, wslug, vslug))) {
            rc = orci_ldi_oom(err);
            break;
        }
        memset(&e, 0, sizeof e);
        if (!docs[i].root) {
            const char *text = b->versions[i]->json ? b->versions[i]->json : "";
            json_t *again = orci_json_parse_object(text, strlen(text), docs[i].ctx, &e);
            json_decref(again);
            orci_ldi_item_fail(it, &e);
        } else if (!json_is_string(vs)) {
            orc_error_set(&e, ORC_INVALID_ARGUMENT, "%s: \"slug\" must be a string", docs[i].ctx);
            if (!json_object_get(docs[i].root, "slug"))
                orc_error_set(&e, ORC_INVALID_ARGUMENT, "%s is missing \"slug\"", docs[i].ctx);
            orci_ldi_item_fail(it, &e);
        } else if (plan_build(b, wf, docs, b->n_versions, vslug, &it->plan, &e) != ORC_OK) {
            orci_ldi_item_fail(it, &e);
        }
    }
    vdocs_free(docs, b->n_versions);
    return rc;
}

int orci_loader_plan_all(Orchestra__V1__WorkflowBundle *const *bundles, size_t n_bundles,
                         orci_load_all **out, orc_error *err)
{
    int rc = ORC_OK;
    size_t cap = 0;
    *out = NULL;
    json_t **wfs = calloc(n_bundles ? n_bundles : 1, sizeof *wfs);
    orci_load_all *all = calloc(1, sizeof *all);
    if (!wfs || !all) {
        rc = orci_ldi_oom(err);
        goto out;
    }
    for (size_t i = 0; i < n_bundles; i++) {
        orc_error ignored = {0};
        wfs[i] = bundles[i] ? parse_workflow_json(bundles[i], &ignored) : NULL;
    }
    /* The same workflow in two apps refuses the whole request (upstream raised here). */
    for (size_t i = 0; i < n_bundles; i++) {
        json_t *si = wfs[i] ? json_object_get(wfs[i], "slug") : NULL;
        if (!json_is_string(si))
            continue;
        for (size_t j = i + 1; j < n_bundles; j++) {
            json_t *sj = wfs[j] ? json_object_get(wfs[j], "slug") : NULL;
            if (json_is_string(sj) && strcmp(json_string_value(si), json_string_value(sj)) == 0) {
                rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                                   "Workflow %s present in multiple apps: %s, %s",
                                   json_string_value(si), bundles[i]->app, bundles[j]->app);
                goto out;
            }
        }
    }
    for (size_t i = 0; i < n_bundles && rc == ORC_OK; i++) {
        if (!bundles[i])
            continue;
        if (!wfs[i]) {
            orc_error e = {0};
            json_t *again = parse_workflow_json(bundles[i], &e);
            json_decref(again);
            orci_load_item *it = add_item(all, &cap, bundles[i]->app, "", "");
            if (!it) {
                rc = orci_ldi_oom(err);
                break;
            }
            orci_ldi_item_fail(it, &e);
            continue;
        }
        rc = plan_bundle(bundles[i], wfs[i], all, &cap, err);
    }
out:
    if (wfs)
        for (size_t i = 0; i < n_bundles; i++)
            json_decref(wfs[i]);
    free(wfs);
    if (rc == ORC_OK)
        *out = all;
    else
        orci_load_all_free(all);
    return rc;
}
