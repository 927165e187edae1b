// Package config loads tripline's configuration from a YAML file and the
// environment, applies defaults and validates it, reporting every problem at
// once. It imports no other tripline package except internal/event (for
// format names) and knows nothing of Kafka clients, HTTP or OTel.
package config
