"""Tests of redis-py's tests/test_commands.py and its asyncio twin
(tests/test_asyncio/test_commands.py, from redis-py's PyPI sdist) that the
test command deselects, by reason. Each entry is `Class::test`: the test in
the sync file and, where it exists, its asyncio twin in both client modes
([single], [pool]). test_redis_py_suite.py checks that every entry names a
collected test, so a stale entry fails the run; every test not listed here
must pass against VexLake.

They are features VexLake does not provide (modules, cluster mode, Redis
replication, ACL LOG and selectors, COMMAND GETKEYSANDFLAGS) or tests that
talk to another server than the one under test."""

NOT_BUILT = {
    "modules (MODULE, RediSearch's FT.* and categories) are not provided": [
        'TestRedisCommands::test_acl_cat_contain_modules_no_category',
        'TestRedisCommands::test_acl_modules_cat_with_category',
        'TestRedisCommands::test_acl_modules_category_commands',
        'TestRedisCommands::test_acl_modules_commands',
        'TestRedisCommands::test_config_get_for_modules',
        'TestRedisCommands::test_config_set_for_search_module',
        'TestRedisCommands::test_info_with_modules',
        'TestRedisCommands::test_module',
        'TestRedisCommands::test_module_list',
        'TestRedisCommands::test_module_loadex',
    ],
    'ACL selectors (`(+set %W~app*)`) are not built': [
        'TestRedisCommands::test_acl_getuser_setuser',
    ],
    'ACL LOG is not built': [
        'TestRedisCommands::test_acl_log',
    ],
    "makes a client for localhost:6379 (redis-py's default), not for the server under test": [
        'TestRedisCommands::test_client_setinfo',
        'TestRedisCommands::test_client_setinfo_with_driver_info',
    ],
    'cluster only (fails on a standalone Redis too)': [
        'TestRedisCommands::test_mset_on_cluster_multiple_slots',
        'TestRedisCommands::test_msetex_invalid_inputs_with_cluster_client',
    ],
    'COMMAND GETKEYSANDFLAGS (not built; its test uses LMOVE)': [
        'TestRedisCommands::test_command_getkeysandflags',
    ],
    'needs a replica server on localhost:6380': [
        'TestRedisCommands::test_psync',
    ],
}
