{{/* Names and labels. */}}

{{- define "tripline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name, at most 63 characters (a DNS label). */}}
{{- define "tripline.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tripline.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tripline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tripline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tripline.labels" -}}
helm.sh/chart: {{ include "tripline.chart" . }}
{{ include "tripline.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: consumer
{{- end }}

{{- define "tripline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tripline.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tripline.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
Secrets. Each key of the Secret, and the *_FILE variable that passes its
path; the variable without _FILE is the one the value must never be in.
deploy/helm's tests check this table against the README's configuration
table (every variable that has a _FILE form).
*/}}
{{- define "tripline.secretTable" -}}
op-client-secret: TRIPLINE_OP_CLIENT_SECRET_FILE
dlq-signing-key: TRIPLINE_DLQ_SIGNING_KEY_FILE
dlq-signing-key-previous: TRIPLINE_DLQ_SIGNING_KEY_PREVIOUS_FILE
kafka-sasl-password: TRIPLINE_KAFKA_SASL_PASSWORD_FILE
slack-bot-token: TRIPLINE_SLACK_BOT_TOKEN_FILE
slack-signing-secret: TRIPLINE_SLACK_SIGNING_SECRET_FILE
slack-webhook-url: TRIPLINE_SLACK_WEBHOOK_URL_FILE
notify-webhook-url: TRIPLINE_NOTIFY_WEBHOOK_URL_FILE
notify-webhook-secret: TRIPLINE_NOTIFY_WEBHOOK_SECRET_FILE
pagerduty-routing-key: TRIPLINE_PAGERDUTY_ROUTING_KEY_FILE
notify-email-hash-key: TRIPLINE_NOTIFY_EMAIL_HASH_KEY_FILE
{{- end }}

{{/* The name of the Secret the pods mount: existingSecret or the chart's. */}}
{{- define "tripline.secretName" -}}
{{- .Values.secret.existingSecret | default (printf "%s-secret" (include "tripline.fullname" .)) }}
{{- end }}

{{/* The Secret's keys in use, sorted, as a YAML list. */}}
{{- define "tripline.secretKeys" -}}
{{- $keys := list }}
{{- if .Values.secret.existingSecret }}
{{- $keys = .Values.secret.existingSecretKeys }}
{{- else }}
{{- range $k, $v := .Values.secret.data }}
{{- if $v }}
{{- $keys = append $keys $k }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml (dict "keys" (sortAlpha (uniq $keys))) }}
{{- end }}

{{/* Whether the rules directory is a volume (else: the image's rules). */}}
{{- define "tripline.rulesFromVolume" -}}
{{- if or .Values.rules.files .Values.rules.existingConfigMap .Values.rules.extraSources }}true{{ end }}
{{- end }}

{{/* The top-level files of rules.files (rule files and protected.yaml). */}}
{{- define "tripline.rulesTopFiles" -}}
{{- $out := dict }}
{{- range $path, $body := .Values.rules.files }}
{{- if not (contains "/" $path) }}
{{- $_ := set $out $path $body }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
The nested files of rules.files (under testdata/), keyed by their ConfigMap
key: the path with "/" turned into "__" (a key cannot hold "/").
*/}}
{{- define "tripline.rulesNestedFiles" -}}
{{- $out := dict }}
{{- range $path, $body := .Values.rules.files }}
{{- if contains "/" $path }}
{{- $_ := set $out (replace "/" "__" $path) (dict "path" $path "body" $body) }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* The chart-owned environment variables, refused in config. */}}
{{- define "tripline.ownedEnv" -}}
{{- $owned := list "TRIPLINE_HTTP_ADDR" "TRIPLINE_RULES_DIR" "TRIPLINE_SHUTDOWN_GRACE" "TRIPLINE_CONFIG" "TRIPLINE_KAFKA_TLS_CA_FILE" "TRIPLINE_KAFKA_TLS_CERT_FILE" "TRIPLINE_KAFKA_TLS_KEY_FILE" }}
{{- if .Values.kafkaTLS.existingSecret }}
{{- $owned = append $owned "TRIPLINE_KAFKA_TLS_ENABLED" }}
{{- end }}
{{- toYaml (dict "names" $owned) }}
{{- end }}

{{/* The termination grace period: derived or checked. */}}
{{- define "tripline.terminationGracePeriodSeconds" -}}
{{- $grace := int .Values.shutdownGraceSeconds }}
{{- $term := int .Values.terminationGracePeriodSeconds }}
{{- if eq $term 0 }}
{{- add $grace 15 }}
{{- else }}
{{- $term }}
{{- end }}
{{- end }}

{{/*
The configuration the pods read at start and only at start: the environment
built from the values, the Secret the chart creates, the TLS settings. The
rules are left out on purpose: they hot-reload.
*/}}
{{- define "tripline.configChecksum" -}}
{{- $secret := "" }}
{{- if not .Values.secret.existingSecret }}
{{- $secret = toYaml .Values.secret.data }}
{{- end }}
{{- list (toYaml .Values.config) $secret (toYaml .Values.secret.existingSecret) (toYaml .Values.secret.existingSecretKeys) (toYaml .Values.kafkaTLS) (toString .Values.shutdownGraceSeconds) | toJson | sha256sum }}
{{- end }}

{{/*
Every check on the values; rendering fails with a message naming the value
and the fix. Included once, by the Deployment.
*/}}
{{- define "tripline.validate" -}}
{{- $grace := int .Values.shutdownGraceSeconds }}
{{- if lt $grace 1 }}
{{- fail (printf "shutdownGraceSeconds must be at least 1 (got %v)" .Values.shutdownGraceSeconds) }}
{{- end }}
{{- $term := int .Values.terminationGracePeriodSeconds }}
{{- if and (ne $term 0) (le $term $grace) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be above shutdownGraceSeconds (%d): the kubelet kills the pod when it runs out, cutting in-flight actions short; set it to at least %d, or to 0 to derive it (shutdownGraceSeconds + 15)" $term $grace (add $grace 1)) }}
{{- end }}
{{- $table := include "tripline.secretTable" . | fromYaml }}
{{- $owned := (include "tripline.ownedEnv" . | fromYaml).names }}
{{- $secretEnv := list }}
{{- range $key, $fileVar := $table }}
{{- $secretEnv = append (append $secretEnv $fileVar) (trimSuffix "_FILE" $fileVar) }}
{{- end }}
{{- range $name, $value := .Values.config }}
{{- if not (regexMatch "^(TRIPLINE|OTEL)_[A-Z0-9_]+$" $name) }}
{{- fail (printf "config.%s: not a tripline setting: config takes TRIPLINE_* and OTEL_* variables (see the README's configuration table)" $name) }}
{{- end }}
{{- if has $name $secretEnv }}
{{- fail (printf "config.%s: a secret never goes in config (it would be an environment value): put it in the Secret, key %s (secret.existingSecret or secret.data)" $name (include "tripline.secretKeyFor" (dict "table" $table "name" $name))) }}
{{- end }}
{{- if has $name $owned }}
{{- fail (printf "config.%s: set by the chart (metrics.port, rules, shutdownGraceSeconds, kafkaTLS); remove it from config" $name) }}
{{- end }}
{{- if not (kindIs "string" $value) }}
{{- fail (printf "config.%s: values are strings: quote it (%v), or use --set-string" $name $value) }}
{{- end }}
{{- end }}
{{- $keys := (include "tripline.secretKeys" . | fromYaml).keys }}
{{- range $keys }}
{{- if not (hasKey $table .) }}
{{- fail (printf "secret: unknown key %q; the keys are: %s" . (keys $table | sortAlpha | join ", ")) }}
{{- end }}
{{- end }}
{{- range $k, $v := .Values.secret.data }}
{{- if not (hasKey $table $k) }}
{{- fail (printf "secret.data: unknown key %q; the keys are: %s" $k (keys $table | sortAlpha | join ", ")) }}
{{- end }}
{{- end }}
{{- if and .Values.secret.existingSecret .Values.secret.data }}
{{- fail "secret: set existingSecret or data, not both" }}
{{- end }}
{{- if and .Values.rules.files .Values.rules.existingConfigMap }}
{{- fail "rules: set files or existingConfigMap, not both (more sources go in rules.extraSources)" }}
{{- end }}
{{- if and .Values.rules.files (not (hasKey .Values.rules.files "protected.yaml")) }}
{{- fail "rules.files has no protected.yaml: tripline refuses to start without the list of identities it must never act on (write `allow_empty: true` in it to protect nobody on purpose)" }}
{{- end }}
{{- range $path, $body := .Values.rules.files }}
{{- if not (regexMatch "^[-._a-zA-Z0-9]+(/[-._a-zA-Z0-9]+)*$" $path) }}
{{- fail (printf "rules.files: %q is not a relative path of letters, digits, '-', '_' and '.'" $path) }}
{{- end }}
{{- if hasPrefix ".." $path }}
{{- fail (printf "rules.files: %q: names starting with '..' belong to the kubelet" $path) }}
{{- end }}
{{- if and (contains "/" $path) (not (hasPrefix "testdata/" $path)) }}
{{- fail (printf "rules.files: %q: only testdata/ may have subdirectories (rule files are read from the top of the directory)" $path) }}
{{- end }}
{{- if contains "__" $path }}
{{- fail (printf "rules.files: %q: '__' is reserved (it stands for '/' in the ConfigMap's keys)" $path) }}
{{- end }}
{{- end }}
{{- with .Values.podDisruptionBudget }}
{{- if and .enabled (ne (toString .maxUnavailable) "") (ne (toString .minAvailable) "") }}
{{- fail "podDisruptionBudget: set maxUnavailable or minAvailable, not both (\"\" unsets one)" }}
{{- end }}
{{- end }}
{{- if .Values.keda.enabled }}
{{- $k := .Values.keda }}
{{- $parts := int $k.partitions }}
{{- if lt $parts 1 }}
{{- fail "keda.partitions: set it to the partitions of the source topics together (the most consumers the group can keep busy)" }}
{{- end }}
{{- if lt (int $k.minReplicaCount) 1 }}
{{- fail "keda.minReplicaCount must be at least 1: an instance must run to end timed suspensions, re-drive parked decisions and time out approvals even when no event arrives" }}
{{- end }}
{{- if lt (int $k.maxReplicaCount) (int $k.minReplicaCount) }}
{{- fail (printf "keda.maxReplicaCount (%d) is below keda.minReplicaCount (%d)" (int $k.maxReplicaCount) (int $k.minReplicaCount)) }}
{{- end }}
{{- if gt (int $k.maxReplicaCount) $parts }}
{{- fail (printf "keda.maxReplicaCount (%d) exceeds keda.partitions (%d): replicas beyond the source partitions get no partition and idle; lower maxReplicaCount or add partitions" (int $k.maxReplicaCount) $parts) }}
{{- end }}
{{- if not (include "tripline.kedaBootstrap" .) }}
{{- fail "keda.bootstrapServers: set it, or config.TRIPLINE_KAFKA_BROKERS" }}
{{- end }}
{{- if not (include "tripline.kedaTopics" . | fromYaml).topics }}
{{- fail "keda.topics: set them, or config.TRIPLINE_KAFKA_TOPICS" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The secret key that feeds the variable name (or its _FILE form). */}}
{{- define "tripline.secretKeyFor" -}}
{{- range $key, $fileVar := .table }}
{{- if or (eq $fileVar $.name) (eq (trimSuffix "_FILE" $fileVar) $.name) }}{{ $key }}{{ end }}
{{- end }}
{{- end }}

{{/* KEDA's bootstrap servers. */}}
{{- define "tripline.kedaBootstrap" -}}
{{- .Values.keda.bootstrapServers | default (index .Values.config "TRIPLINE_KAFKA_BROKERS" | default "") }}
{{- end }}

{{/* KEDA's consumer group. */}}
{{- define "tripline.kedaGroup" -}}
{{- .Values.keda.consumerGroup | default (index .Values.config "TRIPLINE_KAFKA_GROUP_ID" | default "tripline") }}
{{- end }}

{{/* KEDA's topics: keda.topics, or the source topics without =format. */}}
{{- define "tripline.kedaTopics" -}}
{{- $topics := .Values.keda.topics }}
{{- if not $topics }}
{{- $topics = list }}
{{- range splitList "," (index .Values.config "TRIPLINE_KAFKA_TOPICS" | default "") }}
{{- $t := trim (first (splitList "=" .)) }}
{{- if $t }}
{{- $topics = append $topics $t }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml (dict "topics" $topics) }}
{{- end }}
