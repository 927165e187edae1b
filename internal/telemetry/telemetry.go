package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Config says how to set telemetry up.
type Config struct {
	ServiceName string
	Version     string
	// Lookup reads environment variables (os.LookupEnv in production).
	Lookup func(string) (string, bool)
	// SpanExporter, when set, replaces the OTLP exporter (tests pass an
	// in-memory exporter here).
	SpanExporter sdktrace.SpanExporter
	// SpanProcessor, when set, is added as well (tests pass a span recorder).
	SpanProcessor sdktrace.SpanProcessor
}

// Telemetry holds the providers. Pass its tracers and meters to the
// components that need them; nothing here is global.
type Telemetry struct {
	tp         *sdktrace.TracerProvider
	mp         *sdkmetric.MeterProvider
	registry   *promclient.Registry
	propagator propagation.TextMapPropagator
	// Destination says where traces go, for operators: an OTLP endpoint,
	// "the configured exporter", or "nowhere (OTEL_EXPORTER_OTLP_ENDPOINT unset)".
	Destination string
}

// Setup builds the providers. It never contacts the collector: the OTLP
// exporter connects lazily.
func Setup(ctx context.Context, cfg Config) (*Telemetry, error) {
	if cfg.Lookup == nil {
		cfg.Lookup = func(string) (string, bool) { return "", false }
	}
	res := resource.NewSchemaless(semconv.ServiceName(cfg.ServiceName), semconv.ServiceVersion(cfg.Version))
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	t := &Telemetry{Destination: "nowhere (OTEL_EXPORTER_OTLP_ENDPOINT is unset)"}
	exp, dest, err := spanExporter(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if exp != nil {
		opts = append(opts, sdktrace.WithBatcher(exp))
		t.Destination = dest
	}
	if cfg.SpanProcessor != nil {
		opts = append(opts, sdktrace.WithSpanProcessor(cfg.SpanProcessor))
	}
	if exp == nil && cfg.SpanProcessor == nil {
		// Nothing would receive the spans: do not record them. Trace ids
		// are still continued from the producer's context (or made) and
		// logged, so a trace can be followed once an exporter is set.
		opts = append(opts, sdktrace.WithSampler(sdktrace.NeverSample()))
	}
	t.tp = sdktrace.NewTracerProvider(opts...)
	t.registry = promclient.NewRegistry()
	reader, err := otelprom.New(otelprom.WithRegisterer(t.registry), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
	}
	t.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res))
	t.propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	return t, nil
}

func spanExporter(ctx context.Context, cfg Config) (sdktrace.SpanExporter, string, error) {
	if cfg.SpanExporter != nil {
		return cfg.SpanExporter, "the configured exporter", nil
	}
	if v, _ := cfg.Lookup("OTEL_TRACES_EXPORTER"); v == "none" {
		return nil, "", nil
	}
	endpoint, ok := cfg.Lookup("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if !ok || endpoint == "" {
		endpoint, ok = cfg.Lookup("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if !ok || endpoint == "" {
		return nil, "", nil
	}
	// otlptracehttp reads the OTEL_EXPORTER_OTLP_* variables itself.
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("telemetry: otlp exporter: %w", err)
	}
	return exp, "OTLP/HTTP " + endpoint, nil
}

// Tracer returns a named tracer.
func (t *Telemetry) Tracer(name string) trace.Tracer { return t.tp.Tracer(name) }

// TracerProvider returns the tracer provider (for otelhttp).
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tp }

// Meter returns a named meter.
func (t *Telemetry) Meter(name string) metric.Meter { return t.mp.Meter(name) }

// Propagator returns the W3C trace-context and baggage propagator.
func (t *Telemetry) Propagator() propagation.TextMapPropagator { return t.propagator }

// MetricsHandler serves the metrics in Prometheus text format.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{})
}

// Shutdown flushes and stops the providers.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	return errors.Join(t.tp.Shutdown(ctx), t.mp.Shutdown(ctx))
}
