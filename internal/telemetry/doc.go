// Package telemetry sets up OpenTelemetry for tripline: a tracer provider
// (exporting over OTLP/HTTP when the standard OTEL_* variables name an
// endpoint, and nowhere otherwise), a W3C trace-context propagator, a meter
// provider served in Prometheus format, and a slog handler that adds the
// trace and span ids to every log line. It imports no other tripline package.
package telemetry
