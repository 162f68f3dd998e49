/*
 * cmd_system.c: `orchestra health` and `orchestra server-info`.
 */
#include <stdio.h>

#include "cli.h"
#include "clock.h"

static int cmd_health(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 0, NULL, NULL, false, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_error err;
    int rc = orc_health(c, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    if (g->json)
        return orci_cli_print_json(json_pack("{s:s}", "status", "SERVING"));
    printf("SERVING\n");
    return ORCI_CLI_EXIT_OK;
}

static int cmd_server_info(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 0, NULL, NULL, false, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_error err;
    orc_server_info *info = NULL;
    int rc = orc_server_info_get(c, &info, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    char started[40], now[40];
    orci_time_format(info->started_at_us, started, sizeof started);
    orci_time_format(info->now_us, now, sizeof now);
    if (g->json) {
        r = orci_cli_print_json(json_pack("{s:s, s:i, s:s, s:s, s:i, s:b}", "version",
                                          info->version, "schema_version", info->schema_version,
                                          "started_at", started, "now", now, "auth_window_seconds",
                                          info->auth_window_seconds, "dev_mode", info->dev_mode));
        orc_server_info_free(info);
        return r;
    }
    printf("version: %s\n"
           "schema_version: %d\n"
           "started_at: %s\n"
           "now: %s\n"
           "auth_window_seconds: %d\n"
           "dev_mode: %s\n",
           info->version, info->schema_version, started, now, info->auth_window_seconds,
           info->dev_mode ? "true" : "false");
    orc_server_info_free(info);
    return ORCI_CLI_EXIT_OK;
}

const orci_cli_command orci_cli_system_commands[] = {
    {
        .name = "health",
        .run = cmd_health,
        .usage = "",
        .summary = "Check that orchestrad is serving",
        .help = "Prints SERVING ({\"status\":\"SERVING\"} with --json). Needs no credentials.\n",
    },
    {
        .name = "server-info",
        .run = cmd_server_info,
        .usage = "",
        .summary = "Show the server's version, schema and clock",
        .help = "--json prints {\"version\",\"schema_version\",\"started_at\",\"now\",\n"
                "\"auth_window_seconds\",\"dev_mode\"} with ISO 8601 UTC times.\n",
    },
    {0},
};
