package config

import (
	"errors"
	"fmt"
)

// LoadOffline builds the configuration as Load does (defaults, then the
// YAML file at path if path is not empty, then the environment) for a
// command that reads files and calls nothing, such as `consumer replay`: it
// reads no secret files and checks only the event section, which is what
// such a command uses, so it needs no Kafka or 1Password settings. It
// reports every problem at once.
func LoadOffline(path string, lookup Lookup) (Config, error) {
	cfg := Default()
	if path != "" {
		if err := loadFile(path, &cfg); err != nil {
			return cfg, err
		}
	}
	var errs []error
	for _, v := range Env() {
		val, ok := lookup(v.Name)
		if !ok {
			continue
		}
		if err := v.set(&cfg, val); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.Name, err))
		}
	}
	if cfg.Event.MaxAge < 0 || cfg.Event.MaxClockSkew < 0 {
		errs = append(errs, fmt.Errorf("event.max_clock_skew (%s): event.max_age and event.max_clock_skew must not be negative (0 turns a check off)", envName("event.max_clock_skew")))
	}
	return cfg, errors.Join(errs...)
}
