/** Where the run's servers listen; handed from the global setup to every test file. */
export interface TestServers {
  natsUrl: string;
  redisUrl: string;
  postgresUrl: string;
  postgresBinDir: string;
  s3: { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string };
}

/** Migrated once per run; each test's database is a copy of it. */
export const TEMPLATE_DATABASE = 'ferry_template';

declare module 'vitest' {
  export interface ProvidedContext {
    ferryServers: TestServers;
  }
}
