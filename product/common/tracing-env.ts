// Whether traces are on: the standard OpenTelemetry variables name an OTLP endpoint. Apart from
// worker/tracing.ts so that a command can ask without loading the tracing libraries.
export function tracesConfigured(env: Record<string, string | undefined> = process.env): boolean {
  return !!(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}
