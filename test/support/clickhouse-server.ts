/**
 * A private ClickHouse server for one test file: Debian's clickhouse-server
 * (18.16) on free loopback ports, with its own data dir and a generated
 * minimal config (platform/clickhouse/local-server.ts, which the benchmark
 * shares). It can be stopped and started again on the same ports and data
 * (outage tests). A missing clickhouse-server fails the test under CI=true;
 * elsewhere `clickhouseServerInstalled()` lets a test file skip it.
 */
export {
  clickhouseServerBinary, clickhouseServerInstalled, startLocalClickHouse as startTestClickHouse, type LocalClickHouse as TestClickHouse,
} from '../../platform/clickhouse/local-server.ts';
