# PostgreSQL as the coordinator's second store (server/orchestrad/store/README.md): libpq for
# orcd_core, the schema/pg/ migrations embedded beside SQLite's, and the tests labelled
# postgres, which run against a throw-away cluster (test/support/pg_cluster.sh) that CTest
# starts once for the whole run (the fixture postgres_cluster).
pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq)
target_link_libraries(orcd_core PUBLIC PkgConfig::PQ)

file(GLOB ORC_PG_MIGRATIONS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/schema/pg/[0-9]*.sql)
list(SORT ORC_PG_MIGRATIONS)
add_custom_command(
  OUTPUT ${ORC_GEN}/pg_migrations.c
  COMMAND ${CMAKE_COMMAND} -DOUT=${ORC_GEN}/pg_migrations.c "-DFILES=${ORC_PG_MIGRATIONS}"
          -DNAME=orci_pg_migrations -DHEADER=store/migrations_pg.h
          -P ${PROJECT_SOURCE_DIR}/cmake/embed_migrations.cmake
  DEPENDS ${ORC_PG_MIGRATIONS} ${PROJECT_SOURCE_DIR}/cmake/embed_migrations.cmake VERBATIM)
add_custom_target(orc_pg_migrations DEPENDS ${ORC_GEN}/pg_migrations.c)
target_sources(orcd_core PRIVATE ${ORC_GEN}/pg_migrations.c)
add_dependencies(orcd_core orc_pg_migrations)

if(BUILD_TESTING)
  set(ORC_PG_CLUSTER_DIR ${PROJECT_BINARY_DIR}/pg-cluster)
  set(ORC_PG_SCRIPT ${PROJECT_SOURCE_DIR}/test/support/pg_cluster.sh)
  set(ORC_PG_TEST_ENV "ORC_TEST_PG_DIR=${ORC_PG_CLUSTER_DIR}"
      "ORC_PG_TEMPLATE=${PROJECT_BINARY_DIR}/pg-template"
      "ORC_SOURCE_DIR=${PROJECT_SOURCE_DIR}" "ORC_BUILD_DIR=${PROJECT_BINARY_DIR}"
      "ORC_ORCHESTRAD=$<TARGET_FILE:orchestrad>" "ORC_CLI=$<TARGET_FILE:orchestra_cli>"
      ${ORC_SANITIZER_TEST_ENV})
  add_test(NAME postgres.cluster_start COMMAND /bin/sh ${ORC_PG_SCRIPT} fresh ${ORC_PG_CLUSTER_DIR})
  set_tests_properties(postgres.cluster_start PROPERTIES FIXTURES_SETUP postgres_cluster
                       LABELS postgres TIMEOUT 300 ENVIRONMENT "${ORC_PG_TEST_ENV}")
  add_test(NAME postgres.cluster_stop COMMAND /bin/sh ${ORC_PG_SCRIPT} remove ${ORC_PG_CLUSTER_DIR})
  set_tests_properties(postgres.cluster_stop PROPERTIES FIXTURES_CLEANUP postgres_cluster
                       LABELS postgres TIMEOUT 120)

  # test/postgres/test_*.c: the store's PostgreSQL parts against the cluster.
  file(GLOB ORC_PG_TESTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/test/postgres/test_*.c)
  foreach(src ${ORC_PG_TESTS})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    target_link_libraries(${name} PRIVATE orc_test_support)
    orc_warnings(${name})
    add_dependencies(${name} orchestrad orchestra_cli)
    add_test(NAME postgres.${name} COMMAND ${name})
    math(EXPR timeout "300 * ${ORC_TEST_TIMEOUT_SCALE}")
    set_tests_properties(postgres.${name} PROPERTIES TIMEOUT ${timeout} LABELS postgres
                         FIXTURES_REQUIRED postgres_cluster ENVIRONMENT "${ORC_PG_TEST_ENV}")
  endforeach()

  # The whole integration suite a second time on PostgreSQL (issue 19): the same programs and
  # scripts, registered as postgres.integration.NAME (and migrate_store_test.py, which only
  # makes sense here), with ORC_TEST_STORE=postgres so that
  # the harness (harness_store.c, orc_store.py) gives each daemon a database of its own in the
  # shared cluster. The packaging tests (test_install, test_package) do not touch a store and
  # run once. The environment is test/CMakeLists.txt's ORC_TEST_ENV, which lives in that
  # folder's scope.
  set(ORC_PG_ITEST_ENV ${ORC_PG_TEST_ENV} "ORC_TEST_STORE=postgres"
      "ORC_README_EXECUTOR=$<TARGET_FILE:readme_minimal_executor>")
  foreach(tgt orchestra_executor orchestra-http orchestra-notify)
    if(TARGET ${tgt})
      string(TOUPPER ${tgt} var)
      string(REPLACE "-" "_" var ${var})
      string(REPLACE "ORCHESTRA_EXECUTOR" "EXECUTOR" var ${var})
      string(REPLACE "ORCHESTRA_HTTP" "HTTP" var ${var})
      string(REPLACE "ORCHESTRA_NOTIFY" "NOTIFY" var ${var})
      list(APPEND ORC_PG_ITEST_ENV "ORC_${var}=$<TARGET_FILE:${tgt}>")
    endif()
  endforeach()
  math(EXPR itimeout "300 * ${ORC_TEST_TIMEOUT_SCALE}")
  file(GLOB ORC_PG_ITESTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/test/integration/test_*.c)
  foreach(src ${ORC_PG_ITESTS})
    get_filename_component(name ${src} NAME_WE)
    add_test(NAME postgres.integration.${name} COMMAND ${name})
    set_tests_properties(postgres.integration.${name} PROPERTIES TIMEOUT ${itimeout}
                         LABELS postgres FIXTURES_REQUIRED postgres_cluster
                         ENVIRONMENT "${ORC_PG_ITEST_ENV}")
  endforeach()
  if(TARGET orchestra-http)
    set(ORC_PG_PYTESTS test_http_python:http_client_test.py
        test_upstream_client_python:upstream_client_test.py
        test_upstream_import_python:upstream_import_test.py
        test_notify_settings_python:notify_settings_test.py
        test_migrate_store_python:migrate_store_test.py)
    if(TARGET orchestra_executor)
      list(APPEND ORC_PG_PYTESTS test_webapp_browser:webapp_browser_test.py)
    endif()
    foreach(pair ${ORC_PG_PYTESTS})
      string(REPLACE ":" ";" pair ${pair})
      list(GET pair 0 name)
      list(GET pair 1 script)
      add_test(NAME postgres.integration.${name}
               COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/test/integration/${script})
      set_tests_properties(postgres.integration.${name} PROPERTIES
                           TIMEOUT ${itimeout} LABELS postgres FIXTURES_REQUIRED postgres_cluster
                           ENVIRONMENT "${ORC_PG_ITEST_ENV}")
    endforeach()
  endif()
endif()
