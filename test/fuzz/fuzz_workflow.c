/*
 * fuzz_workflow.c: one document of a workflow folder through the coordinator's load
 * validation (orci_loader_plan for version v1 and orci_loader_plan_all, which parse with
 * jansson, check every field, the references, cycles, policies and sample data).
 *
 * Built three times, FUZZ_DOC naming the document the input replaces in the journalism
 * example (plugins/journalism_workflow): 0 workflow.json (fuzz_workflow_json), 1 its
 * v1/version.json (fuzz_version_json), 2 sample_data.json (fuzz_sample_data). The other two
 * documents stay the real ones, so a mutation of one file meets valid neighbours. Each
 * corpus is the matching real files of plugins/ and the unit tests' examples.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "workflow/loader.h"
#include "log.h"

#ifndef FUZZ_DOC
#error "FUZZ_DOC must be 0 (workflow.json), 1 (version.json) or 2 (sample_data.json)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The example folder, read once. */
static Orchestra__V1__WorkflowBundle *example(void)
{
    static Orchestra__V1__WorkflowBundle *b;
    if (b)
        return b;
    orci_log_init("fuzz", ORCI_LOG_ERROR);
    const char *src = getenv("ORC_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/plugins/journalism_workflow",
             src && src[0] ? src : ORC_FUZZ_SOURCE_DIR);
    orc_error err;
    orc_error_clear(&err);
    if (orci_bundle_read(dir, &b, &err) != ORC_OK || b->n_versions != 1) {
        fprintf(stderr, "fuzz_workflow: %s: %s\n", dir, err.message);
        abort();
    }
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Orchestra__V1__WorkflowBundle *ex = example();
    /* The documents travel as protobuf strings: text up to the first NUL. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    Orchestra__V1__WorkflowBundle b = *ex;
    Orchestra__V1__VersionFile vf = *ex->versions[0];
    Orchestra__V1__VersionFile *vfs[1] = {&vf};
    b.versions = vfs;
#if FUZZ_DOC == 0
    b.workflow_json = text;
#elif FUZZ_DOC == 1
    vf.json = text;
#else
    b.sample_data_json = text;
#endif
    orci_load_plan *p = NULL;
    orc_error err;
    orc_error_clear(&err);
    if (orci_loader_plan(&b, "v1", &p, &err) == ORC_OK && !p)
        abort();
    orci_load_plan_free(p);

    Orchestra__V1__WorkflowBundle *bundles[1] = {&b};
    orci_load_all *all = NULL;
    orc_error_clear(&err);
    if (orci_loader_plan_all(bundles, 1, &all, &err) == ORC_OK && !all)
        abort();
    orci_load_all_free(all);
    free(text);
    return 0;
}
