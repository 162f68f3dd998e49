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
endif()
