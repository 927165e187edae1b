package pipeline

import (
	"strings"

	"github.com/segmentio/kafka-go"
)

// HeaderCarrier adapts Kafka message headers to OTel's TextMapCarrier so the
// W3C trace context travels in "traceparent" and "tracestate" headers:
// producers inject with it, the consumer extracts with it.
type HeaderCarrier struct{ Headers *[]kafka.Header }

// HeaderValue returns the value of m's header key ("" when absent).
func HeaderValue(m kafka.Message, key string) string {
	return HeaderCarrier{&m.Headers}.Get(key)
}

// Get returns the value of the first header named key (any case).
func (c HeaderCarrier) Get(key string) string {
	for _, h := range *c.Headers {
		if strings.EqualFold(h.Key, key) {
			return string(h.Value)
		}
	}
	return ""
}

// Set replaces the header named key, or appends it.
func (c HeaderCarrier) Set(key, value string) {
	for i, h := range *c.Headers {
		if strings.EqualFold(h.Key, key) {
			(*c.Headers)[i].Value = []byte(value)
			return
		}
	}
	*c.Headers = append(*c.Headers, kafka.Header{Key: key, Value: []byte(value)})
}

// Keys lists the header names.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, len(*c.Headers))
	for i, h := range *c.Headers {
		keys[i] = h.Key
	}
	return keys
}
