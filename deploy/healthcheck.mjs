// Health check of Ferry's image (Dockerfile HEALTHCHECK, docker-compose.yml): GETs a URL
// in this container and exits 0 on a 2xx answer, 1 otherwise, within 4 seconds.
//   node deploy/healthcheck.mjs [URL]
// Without URL: HEALTHCHECK_URL, else /metrics on METRICS_PORT (services without an HTTP
// server), else /health on PORT (the gateway, 8080 by default).
const env = process.env;
const url =
  process.argv[2] ??
  env.HEALTHCHECK_URL ??
  (env.METRICS_PORT ? `http://127.0.0.1:${env.METRICS_PORT}/metrics` : `http://127.0.0.1:${env.PORT ?? '8080'}/health`);
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  await res.body?.cancel();
  if (!res.ok) {
    console.error(`${url}: HTTP ${res.status}`);
    process.exit(1);
  }
} catch (err) {
  console.error(`${url}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
