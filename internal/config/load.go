package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Lookup reads one environment variable; os.LookupEnv in production, a map
// in tests.
type Lookup func(name string) (string, bool)

// Load builds the configuration: defaults, then the YAML file at path (if
// path is not empty), then the environment, then secret files. It validates
// the result and reports every problem at once.
func Load(path string, lookup Lookup) (Config, error) {
	cfg := Default()
	var errs []error
	if path != "" {
		if err := loadFile(path, &cfg); err != nil {
			return cfg, err
		}
	}
	for _, v := range Env() {
		val, ok := lookup(v.Name)
		if !ok {
			continue
		}
		if err := v.set(&cfg, val); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.Name, err))
		}
	}
	errs = append(errs, readSecretFiles(&cfg)...)
	if err := errors.Join(errs...); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func loadFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

func readSecretFiles(cfg *Config) []error {
	var errs []error
	read := func(name, file string, dst *Secret) {
		if file == "" {
			return
		}
		if *dst != "" {
			errs = append(errs, fmt.Errorf("%s: set either the secret or its file, not both", name))
			return
		}
		b, err := os.ReadFile(file)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return
		}
		*dst = Secret(strings.TrimSpace(string(b)))
	}
	read("onepassword.client_secret_file", cfg.OnePassword.ClientSecretFile, &cfg.OnePassword.ClientSecret)
	read("kafka.sasl.password_file", cfg.Kafka.SASL.PasswordFile, &cfg.Kafka.SASL.Password)
	read("kafka.dlq_signing_key_file", cfg.Kafka.DLQSigningKeyFile, &cfg.Kafka.DLQSigningKey)
	read("kafka.dlq_signing_key_previous_file", cfg.Kafka.DLQSigningKeyPreviousFile, &cfg.Kafka.DLQSigningKeyPrevious)
	read("slack.bot_token_file", cfg.Slack.BotTokenFile, &cfg.Slack.BotToken)
	read("slack.signing_secret_file", cfg.Slack.SigningSecretFile, &cfg.Slack.SigningSecret)
	read("notify.slack_webhook_url_file", cfg.Notify.SlackWebhookURLFile, &cfg.Notify.SlackWebhookURL)
	read("notify.webhook_url_file", cfg.Notify.WebhookURLFile, &cfg.Notify.WebhookURL)
	read("notify.webhook_secret_file", cfg.Notify.WebhookSecretFile, &cfg.Notify.WebhookSecret)
	read("notify.pagerduty_routing_key_file", cfg.Notify.PagerDutyKeyFile, &cfg.Notify.PagerDutyKey)
	read("notify.email_hash_key_file", cfg.Notify.EmailHashKeyFile, &cfg.Notify.EmailHashKey)
	return errs
}
