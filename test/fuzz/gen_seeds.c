/*
 * gen_seeds.c: writes the seed corpora of the RPC fuzz targets, fuzz_rpc_body (method,
 * caller byte, body) and fuzz_rpc_envelope (whole signed envelopes), into
 * <out>/rpc_body and <out>/rpc_envelope. The envelopes are signed with the fixture's keys
 * at its fixed time (fuzz_server.h), so they authenticate in the fuzz targets.
 *
 *   build-fuzz/test/fuzz/gen_seeds test/fuzz/corpus     (make fuzz-seeds does this)
 *
 * One seed per method at least, with plausible values: the fixture's project and task ids,
 * its worker, the journalism example for LoadWorkflow.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle.h"
#include "crypto.h"
#include "fuzz_server.h"
#include "proto/envelope.pb-c.h"
#include "proto/orchestra.pb-c.h"

static const char *out_dir;
static unsigned seed_count;
static int seed_failed;

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        seed_failed = 1;
    }
}

/* emit writes one body seed and its envelope. tag tells seeds of one method apart. */
static void emit(const char *method, const char *tag, fuzz_who who, const ProtobufCMessage *m)
{
    static const char who_chars[] = {[FUZZ_WHO_ANON] = '-',
                                     [FUZZ_WHO_ADMIN] = 'a',
                                     [FUZZ_WHO_PROJECT] = 'p',
                                     [FUZZ_WHO_EXECUTOR] = 'e',
                                     [FUZZ_WHO_WORKER] = 'w'};
    size_t body_len = m ? protobuf_c_message_get_packed_size(m) : 0;
    size_t n = strlen(method);
    uint8_t *seed = malloc(n + 2 + body_len);
    if (!seed) {
        seed_failed = 1;
        return;
    }
    memcpy(seed, method, n + 1);
    seed[n + 1] = (uint8_t)who_chars[who];
    if (m)
        protobuf_c_message_pack(m, seed + n + 2);
    char name[200];
    snprintf(name, sizeof name, "%s%s%s", method, tag[0] ? "-" : "", tag);
    write_file("rpc_body", name, seed, n + 2 + body_len);

    char rid[32];
    snprintf(rid, sizeof rid, "seed-%u", ++seed_count);
    uint8_t *env = NULL;
    size_t env_len = 0;
    if (fuzz_server_envelope(method, who, rid, seed + n + 2, body_len, &env, &env_len) != 0)
        seed_failed = 1;
    else
        write_file("rpc_envelope", name, env, env_len);
    free(env);
    free(seed);
}

static void seeds_system(void)
{
    emit("Health", "", FUZZ_WHO_ANON, NULL);
    emit("ServerInfo", "", FUZZ_WHO_ADMIN, NULL);
    emit("ListWorkflows", "", FUZZ_WHO_PROJECT, NULL);
    emit("CheckConsistency", "", FUZZ_WHO_ADMIN, NULL);
    Orchestra__V1__ListEventsRequest le = ORCHESTRA__V1__LIST_EVENTS_REQUEST__INIT;
    le.topic_prefix = "project.1.";
    le.limit = 10;
    emit("ListEvents", "", FUZZ_WHO_ADMIN, &le.base);
}

static void seeds_workflows(const char *source_dir)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/plugins/journalism_workflow", source_dir);
    Orchestra__V1__WorkflowBundle *b = NULL;
    orc_error err;
    orc_error_clear(&err);
    if (orci_bundle_read(dir, &b, &err) != ORC_OK) {
        fprintf(stderr, "%s: %s\n", dir, err.message);
        seed_failed = 1;
        return;
    }
    free(b->code_directory);
    b->code_directory = strdup("/apps/journalism_workflow"); /* no build path in the corpus */
    Orchestra__V1__LoadWorkflowRequest lw = ORCHESTRA__V1__LOAD_WORKFLOW_REQUEST__INIT;
    lw.bundle = b;
    lw.version = "v1";
    lw.force = true;
    emit("LoadWorkflow", "", FUZZ_WHO_ADMIN, &lw.base);
    Orchestra__V1__LoadAllWorkflowsRequest la = ORCHESTRA__V1__LOAD_ALL_WORKFLOWS_REQUEST__INIT;
    la.bundles = &b;
    la.n_bundles = 1;
    emit("LoadAllWorkflows", "", FUZZ_WHO_ADMIN, &la.base);
    orci_bundle_free(b);
    Orchestra__V1__LoadSampleDataRequest ls = ORCHESTRA__V1__LOAD_SAMPLE_DATA_REQUEST__INIT;
    ls.workflow = "simple_workflow";
    ls.version = "v1";
    emit("LoadSampleData", "", FUZZ_WHO_ADMIN, &ls.base);
}

static void seeds_projects(void)
{
    Orchestra__V1__CreateProjectRequest cp = ORCHESTRA__V1__CREATE_PROJECT_REQUEST__INIT;
    cp.workflow = "journalism";
    cp.version = "v1";
    cp.description = "An article";
    cp.priority = 5;
    cp.task_class = "real";
    cp.project_data = "{\"topic\":\"fuzzing\",\"n\":[1,2.5,null,true]}";
    emit("CreateProject", "", FUZZ_WHO_PROJECT, &cp.base);
    Orchestra__V1__GetProjectInformationRequest gp =
        ORCHESTRA__V1__GET_PROJECT_INFORMATION_REQUEST__INIT;
    gp.project_id = 1;
    emit("GetProjectInformation", "", FUZZ_WHO_PROJECT, &gp.base);
    Orchestra__V1__EndProjectRequest ep = ORCHESTRA__V1__END_PROJECT_REQUEST__INIT;
    ep.project_id = 2;
    emit("EndProject", "", FUZZ_WHO_ADMIN, &ep.base);
    Orchestra__V1__SetProjectStatusRequest ss = ORCHESTRA__V1__SET_PROJECT_STATUS_REQUEST__INIT;
    ss.project_id = 1;
    ss.status = "Paused";
    emit("SetProjectStatus", "", FUZZ_WHO_ADMIN, &ss.base);
    Orchestra__V1__AssignTaskRequest at = ORCHESTRA__V1__ASSIGN_TASK_REQUEST__INIT;
    at.task_id = 2;
    at.username = FUZZ_WORKER;
    emit("AssignTask", "", FUZZ_WHO_ADMIN, &at.base);
    Orchestra__V1__ReassignAssignmentRequest ra = ORCHESTRA__V1__REASSIGN_ASSIGNMENT_REQUEST__INIT;
    ra.assignment_id = 1;
    ra.username = FUZZ_WORKER;
    emit("ReassignAssignment", "", FUZZ_WHO_ADMIN, &ra.base);
    Orchestra__V1__CompleteAndSkipTaskRequest cs =
        ORCHESTRA__V1__COMPLETE_AND_SKIP_TASK_REQUEST__INIT;
    cs.task_id = 1;
    emit("CompleteAndSkipTask", "", FUZZ_WHO_ADMIN, &cs.base);
    Orchestra__V1__RevertTaskRequest rt = ORCHESTRA__V1__REVERT_TASK_REQUEST__INIT;
    rt.task_id = 1;
    rt.iteration_id = 1;
    rt.revert_before = true;
    emit("RevertTask", "", FUZZ_WHO_ADMIN, &rt.base);
}

static void seeds_workers(void)
{
    Orchestra__V1__AddWorkerRequest aw = ORCHESTRA__V1__ADD_WORKER_REQUEST__INIT;
    aw.username = "ada";
    aw.password = "lovelace";
    aw.first_name = "Ada";
    aw.last_name = "Lovelace";
    aw.email = "ada@example.org";
    emit("AddWorker", "", FUZZ_WHO_ADMIN, &aw.base);
    Orchestra__V1__CertifyWorkerRequest cw = ORCHESTRA__V1__CERTIFY_WORKER_REQUEST__INIT;
    cw.username = FUZZ_WORKER;
    cw.workflow = "journalism";
    cw.certification = "editor";
    cw.role = "reviewer";
    cw.task_class = "training";
    emit("CertifyWorker", "", FUZZ_WHO_ADMIN, &cw.base);
    Orchestra__V1__LoginRequest li = ORCHESTRA__V1__LOGIN_REQUEST__INIT;
    li.username = FUZZ_WORKER;
    li.password = "fuzz-password";
    emit("Login", "", FUZZ_WHO_ANON, &li.base);
    emit("Logout", "", FUZZ_WHO_WORKER, NULL);
    emit("Dashboard", "", FUZZ_WHO_WORKER, NULL);
    Orchestra__V1__NewTaskRequest nt = ORCHESTRA__V1__NEW_TASK_REQUEST__INIT;
    nt.role = "entry_level";
    emit("NewTask", "", FUZZ_WHO_WORKER, &nt.base);
    Orchestra__V1__TaskInfoRequest ti = ORCHESTRA__V1__TASK_INFO_REQUEST__INIT;
    ti.task_id = 2;
    emit("TaskInfo", "", FUZZ_WHO_WORKER, &ti.base);
    Orchestra__V1__SaveTaskRequest st = ORCHESTRA__V1__SAVE_TASK_REQUEST__INIT;
    st.task_id = 2;
    st.data = "{\"draft\":\"some text\"}";
    emit("SaveTask", "", FUZZ_WHO_WORKER, &st.base);
    Orchestra__V1__SubmitTaskRequest su = ORCHESTRA__V1__SUBMIT_TASK_REQUEST__INIT;
    su.task_id = 2;
    su.data = "{\"articles\":[{\"headline\":\"h\"}]}";
    su.command = "submit";
    emit("SubmitTask", "", FUZZ_WHO_WORKER, &su.base);
    su.command = "reject";
    emit("SubmitTask", "reject", FUZZ_WHO_WORKER, &su.base);
}

static void seeds_jobs(void)
{
    char *functions[] = {"journalism_workflow.v1.documents.create_documents",
                         "simple_workflow.v1.crawl.crawl_page"};
    Orchestra__V1__LeaseJobRequest lj = ORCHESTRA__V1__LEASE_JOB_REQUEST__INIT;
    lj.executor_id = "fuzz-host:1";
    lj.functions = functions;
    lj.n_functions = 2;
    lj.lease_ms = 5000;
    emit("LeaseJob", "", FUZZ_WHO_EXECUTOR, &lj.base);
    Orchestra__V1__HeartbeatRequest hb = ORCHESTRA__V1__HEARTBEAT_REQUEST__INIT;
    hb.job_id = 1;
    hb.lease_token = "token";
    hb.lease_ms = 5000;
    emit("Heartbeat", "", FUZZ_WHO_EXECUTOR, &hb.base);
    Orchestra__V1__CompleteJobRequest cj = ORCHESTRA__V1__COMPLETE_JOB_REQUEST__INIT;
    cj.job_id = 1;
    cj.lease_token = "token";
    cj.output = "{\"documents\":[]}";
    cj.next = &lj;
    emit("CompleteJob", "", FUZZ_WHO_EXECUTOR, &cj.base);
    Orchestra__V1__FailJobRequest fj = ORCHESTRA__V1__FAIL_JOB_REQUEST__INIT;
    fj.job_id = 1;
    fj.lease_token = "token";
    fj.error = "it broke";
    fj.retryable = true;
    emit("FailJob", "", FUZZ_WHO_EXECUTOR, &fj.base);
    Orchestra__V1__RetryJobRequest rj = ORCHESTRA__V1__RETRY_JOB_REQUEST__INIT;
    rj.task_id = 1;
    emit("RetryJob", "", FUZZ_WHO_ADMIN, &rj.base);
    Orchestra__V1__ListJobsRequest lsj = ORCHESTRA__V1__LIST_JOBS_REQUEST__INIT;
    emit("ListJobs", "", FUZZ_WHO_ADMIN, &lsj.base);
}

static void seeds_time(void)
{
    Orchestra__V1__TimerStartRequest ts = ORCHESTRA__V1__TIMER_START_REQUEST__INIT;
    ts.description = "planning";
    emit("TimerStart", "", FUZZ_WHO_WORKER, &ts.base);
    emit("TimerStop", "", FUZZ_WHO_WORKER, NULL);
    emit("TimerStatus", "", FUZZ_WHO_WORKER, NULL);
    Orchestra__V1__TimerUpdateRequest tu = ORCHESTRA__V1__TIMER_UPDATE_REQUEST__INIT;
    tu.set_description = true;
    tu.description = "writing";
    emit("TimerUpdate", "", FUZZ_WHO_WORKER, &tu.base);
    Orchestra__V1__TimeEntryCreateRequest tc = ORCHESTRA__V1__TIME_ENTRY_CREATE_REQUEST__INIT;
    tc.date = "2016-04-28";
    tc.time_worked = "1 02:30:15.5";
    tc.description = "research";
    emit("TimeEntryCreate", "", FUZZ_WHO_WORKER, &tc.base);
    Orchestra__V1__TimeEntryListRequest tl = ORCHESTRA__V1__TIME_ENTRY_LIST_REQUEST__INIT;
    tl.min_date = "2016-04-01";
    tl.max_date = "2016-04-30";
    emit("TimeEntryList", "", FUZZ_WHO_WORKER, &tl.base);
    Orchestra__V1__TimeEntryEditRequest te = ORCHESTRA__V1__TIME_ENTRY_EDIT_REQUEST__INIT;
    te.id = 1;
    te.time_worked = "00:45";
    emit("TimeEntryEdit", "", FUZZ_WHO_WORKER, &te.base);
    Orchestra__V1__TimeEntryDeleteRequest td = ORCHESTRA__V1__TIME_ENTRY_DELETE_REQUEST__INIT;
    td.id = 1;
    emit("TimeEntryDelete", "", FUZZ_WHO_WORKER, &td.base);
    Orchestra__V1__TimecardRequest tcd = ORCHESTRA__V1__TIMECARD_REQUEST__INIT;
    tcd.from = "2016-04-25";
    tcd.to = "2016-05-01";
    emit("Timecard", "", FUZZ_WHO_WORKER, &tcd.base);
}

static void seeds_listings(void)
{
    Orchestra__V1__PageRequest page = ORCHESTRA__V1__PAGE_REQUEST__INIT;
    page.after_id = 1;
    page.limit = 10;
    Orchestra__V1__ListProjectsRequest lp = ORCHESTRA__V1__LIST_PROJECTS_REQUEST__INIT;
    lp.page = &page;
    lp.status = "Active";
    lp.workflow = "journalism";
    emit("ListProjects", "", FUZZ_WHO_PROJECT, &lp.base);
    Orchestra__V1__ListWorkersRequest lw = ORCHESTRA__V1__LIST_WORKERS_REQUEST__INIT;
    lw.page = &page;
    emit("ListWorkers", "", FUZZ_WHO_ADMIN, &lw.base);
    Orchestra__V1__ListTasksRequest lt = ORCHESTRA__V1__LIST_TASKS_REQUEST__INIT;
    lt.page = &page;
    lt.project_id = 1;
    lt.status = "Awaiting Processing";
    emit("ListTasks", "", FUZZ_WHO_ADMIN, &lt.base);
    Orchestra__V1__ListCertificationsRequest lc = ORCHESTRA__V1__LIST_CERTIFICATIONS_REQUEST__INIT;
    lc.workflow = "journalism";
    emit("ListCertifications", "", FUZZ_WHO_ADMIN, &lc.base);
    emit("ListKeys", "", FUZZ_WHO_ADMIN, NULL);
}

/* seeds_admin covers project management and the accounts of workers. */
static void seeds_admin(void)
{
    Orchestra__V1__ManageProjectRequest mp = ORCHESTRA__V1__MANAGE_PROJECT_REQUEST__INIT;
    mp.operation = "reassign_assignment";
    mp.project_id = 1;
    mp.assignment_id = 1;
    mp.username = FUZZ_WORKER;
    emit("ManageProject", "", FUZZ_WHO_WORKER, &mp.base);
    Orchestra__V1__ManagedProjectInformationRequest mi =
        ORCHESTRA__V1__MANAGED_PROJECT_INFORMATION_REQUEST__INIT;
    mi.project_id = 1;
    emit("ManagedProjectInformation", "", FUZZ_WHO_WORKER, &mi.base);
    Orchestra__V1__MessageProjectTeamRequest mt = ORCHESTRA__V1__MESSAGE_PROJECT_TEAM_REQUEST__INIT;
    mt.project_id = 1;
    mt.message = "Please look at the draft.";
    emit("MessageProjectTeam", "", FUZZ_WHO_ADMIN, &mt.base);
    Orchestra__V1__AssignWorkerToTaskRequest aw =
        ORCHESTRA__V1__ASSIGN_WORKER_TO_TASK_REQUEST__INIT;
    aw.worker_id = 1;
    aw.task_id = 2;
    emit("AssignWorkerToTask", "", FUZZ_WHO_ADMIN, &aw.base);
    Orchestra__V1__SetWorkerAdminRequest sa = ORCHESTRA__V1__SET_WORKER_ADMIN_REQUEST__INIT;
    sa.username = FUZZ_WORKER;
    sa.project_admin = true;
    emit("SetWorkerAdmin", "", FUZZ_WHO_ADMIN, &sa.base);
    Orchestra__V1__SetWorkerPasswordRequest sp = ORCHESTRA__V1__SET_WORKER_PASSWORD_REQUEST__INIT;
    sp.username = FUZZ_WORKER;
    sp.password = "fuzz-password";
    emit("SetWorkerPassword", "", FUZZ_WHO_ADMIN, &sp.base);
    Orchestra__V1__ChangePasswordRequest cp = ORCHESTRA__V1__CHANGE_PASSWORD_REQUEST__INIT;
    cp.old_password = "fuzz-password";
    cp.new_password = "fuzz-password";
    emit("ChangePassword", "", FUZZ_WHO_WORKER, &cp.base);
    emit("WhoAmI", "", FUZZ_WHO_WORKER, NULL);
    int64_t ids[] = {1, 2};
    Orchestra__V1__DashboardDetailsRequest dd = ORCHESTRA__V1__DASHBOARD_DETAILS_REQUEST__INIT;
    dd.assignment_ids = ids;
    dd.n_assignment_ids = 2;
    emit("DashboardDetails", "", FUZZ_WHO_WORKER, &dd.base);
    Orchestra__V1__TaskDetailsRequest td = ORCHESTRA__V1__TASK_DETAILS_REQUEST__INIT;
    td.task_id = 2;
    emit("TaskDetails", "", FUZZ_WHO_WORKER, &td.base);
    Orchestra__V1__TaskInterfaceRequest ti = ORCHESTRA__V1__TASK_INTERFACE_REQUEST__INIT;
    ti.task_id = 2;
    emit("TaskInterface", "", FUZZ_WHO_WORKER, &ti.base);
}

/* seeds_import sends the integration tests' upstream fixture through ImportFixture. */
static void seeds_import(const char *source_dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/test/integration/data/upstream_dump.json", source_dir);
    FILE *f = fopen(path, "rb");
    char *text = malloc(1 << 16);
    size_t n = f && text ? fread(text, 1, (1 << 16) - 1, f) : 0;
    if (f)
        fclose(f);
    if (n == 0 || !text) {
        fprintf(stderr, "%s: cannot read\n", path);
        seed_failed = 1;
        free(text);
        return;
    }
    text[n] = '\0';
    Orchestra__V1__ImportFixtureRequest im = ORCHESTRA__V1__IMPORT_FIXTURE_REQUEST__INIT;
    im.fixture_json = text;
    emit("ImportFixture", "", FUZZ_WHO_ADMIN, &im.base);
    free(text);
}

/* seeds_http_signature writes an envelope carrying a legacy HTTP signature that verifies. */
static void seeds_http_signature(void)
{
    const char *signing = "date: Thu, 28 Apr 2016 20:00:00 GMT";
    uint8_t mac[ORCI_SHA256_LEN];
    char b64[64];
    orci_hmac_sha256(FUZZ_LEGACY_SECRET, strlen(FUZZ_LEGACY_SECRET), signing, strlen(signing), mac);
    orci_base64_encode(mac, sizeof mac, b64, sizeof b64);
    Orchestra__V1__GetProjectInformationRequest gp =
        ORCHESTRA__V1__GET_PROJECT_INFORMATION_REQUEST__INIT;
    gp.project_id = 1;
    uint8_t body[32];
    size_t body_len = protobuf_c_message_pack(&gp.base, body);
    Orchestra__V1__HttpSignature hs = ORCHESTRA__V1__HTTP_SIGNATURE__INIT;
    hs.key_id = FUZZ_LEGACY_KEY;
    hs.signing_string = (char *)signing;
    hs.signature = b64;
    Orchestra__V1__Auth a = ORCHESTRA__V1__AUTH__INIT;
    a.http_signature = &hs;
    Orchestra__V1__Request r = ORCHESTRA__V1__REQUEST__INIT;
    r.method = "GetProjectInformation";
    r.request_id = "seed-http";
    r.auth = &a;
    r.body.data = body;
    r.body.len = body_len;
    uint8_t env[512];
    if (orchestra__v1__request__get_packed_size(&r) > sizeof env) {
        seed_failed = 1;
        return;
    }
    size_t n = orchestra__v1__request__pack(&r, env);
    write_file("rpc_envelope", "GetProjectInformation-http-signature", env, n);
    r.method = "NoSuchMethod";
    n = orchestra__v1__request__pack(&r, env);
    write_file("rpc_envelope", "unknown-method", env, n);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    const char *dirs[] = {"rpc_body", "rpc_envelope"};
    for (size_t i = 0; i < 2; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", out_dir, dirs[i]);
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            perror(path);
            return 1;
        }
    }
    const char *src = getenv("ORC_SOURCE_DIR");
    seeds_system();
    seeds_workflows(src && src[0] ? src : ORC_FUZZ_SOURCE_DIR);
    seeds_projects();
    seeds_workers();
    seeds_jobs();
    seeds_time();
    seeds_listings();
    seeds_admin();
    seeds_import(src && src[0] ? src : ORC_FUZZ_SOURCE_DIR);
    seeds_http_signature();
    return seed_failed;
}
