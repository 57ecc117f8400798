{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "cloudfront-watcher.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release-chart, unless the release already says it. */}}
{{- define "cloudfront-watcher.fullname" -}}
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

{{- define "cloudfront-watcher.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cloudfront-watcher.labels" -}}
helm.sh/chart: {{ include "cloudfront-watcher.chart" . }}
{{ include "cloudfront-watcher.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: invalidator
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "cloudfront-watcher.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cloudfront-watcher.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cloudfront-watcher.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cloudfront-watcher.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* registry/repository:tag or @digest; global.imageRegistry wins over image.registry. */}}
{{- define "cloudfront-watcher.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- $registry := "" }}
{{- with .Values.global }}{{ $registry = .imageRegistry | default "" }}{{ end }}
{{- $registry = $registry | default .Values.image.registry | trimSuffix "/" }}
{{- $repository := .Values.image.repository }}
{{- if $registry }}{{ $repository = printf "%s/%s" $registry $repository }}{{ end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository $tag }}
{{- end }}
{{- end }}

{{/* The pod's config volume: an existing ConfigMap or Secret, else the one this chart renders. */}}
{{- define "cloudfront-watcher.configVolume" -}}
{{- if .Values.existingSecret -}}
secret:
  secretName: {{ .Values.existingSecret }}
  items:
    - key: config.toml
      path: config.toml
{{- else -}}
configMap:
  name: {{ .Values.existingConfigMap | default (include "cloudfront-watcher.fullname" .) }}
  items:
    - key: config.toml
      path: config.toml
{{- end }}
{{- end }}

{{/* "true" when the poll source is configured: N pollers would invalidate N times. */}}
{{- define "cloudfront-watcher.pollMode" -}}
{{- if has "poll" .Values.config.watcher.sources }}true{{ end }}
{{- end }}

{{/* The metrics/health port: the port part of [http] listen ("0.0.0.0:9102", "[::]:9102"). */}}
{{- define "cloudfront-watcher.port" -}}
{{- splitList ":" .Values.config.http.listen | last | int }}
{{- end }}

{{- define "cloudfront-watcher.configDir" -}}/etc/cloudfront-watcher{{- end }}

{{/*
Grace period: the watcher's own shutdown deadline plus headroom, never below
Kubernetes' default of 30 s. An explicit value must still exceed the deadline.
*/}}
{{- define "cloudfront-watcher.terminationGracePeriodSeconds" -}}
{{- $shutdown := .Values.config.watcher.shutdown_timeout_seconds | int }}
{{- if .Values.terminationGracePeriodSeconds }}
{{- $grace := .Values.terminationGracePeriodSeconds | int }}
{{- if le $grace $shutdown }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed config.watcher.shutdown_timeout_seconds (%d): the kubelet would SIGKILL a draining watcher" $grace $shutdown) }}
{{- end }}
{{- $grace }}
{{- else }}
{{- max 30 (add $shutdown 5) }}
{{- end }}
{{- end }}

{{/*
One TOML value. helm's toToml renders every number as a float (20 -> 20.0),
which the watcher's integer settings reject, so values are rendered here:
strings as JSON-quoted basic strings (a JSON string is a valid TOML string),
integral numbers as integers, lists as TOML arrays.
*/}}
{{- define "cloudfront-watcher.tomlValue" -}}
{{- if kindIs "string" . }}
{{- toJson . }}
{{- else if kindIs "bool" . }}
{{- ternary "true" "false" . }}
{{- else if or (kindIs "float64" .) (kindIs "float32" .) }}
{{- if eq (float64 .) (floor .) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- else if or (kindIs "int" .) (kindIs "int64" .) }}
{{- . }}
{{- else if kindIs "slice" . }}
{{- $items := list }}
{{- range . }}
{{- $items = append $items (include "cloudfront-watcher.tomlValue" .) }}
{{- end }}
{{- printf "[%s]" (join ", " $items) }}
{{- else }}
{{- fail (printf "cannot render %v (%s) as a TOML value" . (kindOf .)) }}
{{- end }}
{{- end }}

{{/* A table's keys, one per line; null values are left to the watcher's default. */}}
{{- define "cloudfront-watcher.tomlKeys" -}}
{{- range $key, $value := . }}
{{- if not (kindIs "invalid" $value) }}
{{ $key }} = {{ include "cloudfront-watcher.tomlValue" $value }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Pods that share the account's CreateInvalidation rate: 1 in poll mode and in
sidecar mode (the site's own pods are unknown here), the autoscaling maximum
when autoscaling, else replicaCount.
*/}}
{{- define "cloudfront-watcher.ratePods" -}}
{{- if or (include "cloudfront-watcher.pollMode" .) (ne .Values.mode "deployment") }}1
{{- else if and .Values.autoscaling .Values.autoscaling.enabled }}{{ max 1 (.Values.autoscaling.maxReplicas | int) }}
{{- else }}{{ max 1 (.Values.replicaCount | int) }}
{{- end }}
{{- end }}

{{/* One pod's share of config.invalidation.requests_per_second, rounded down to 1/10000. */}}
{{- define "cloudfront-watcher.podRate" -}}
{{- $pods := include "cloudfront-watcher.ratePods" . | int }}
{{- $share := divf (floor (mulf .Values.config.invalidation.requests_per_second 10000)) $pods | floor }}
{{- maxf 0.0001 (divf $share 10000) }}
{{- end }}

{{/* The whole config.toml, from .Values.config. */}}
{{- define "cloudfront-watcher.configToml" -}}
{{- $config := deepCopy .Values.config }}
{{- if and .Values.state.enabled (not $config.poll.state_file) }}
{{- $_ := set $config.poll "state_file" (printf "%s/poll-state.json" .Values.state.mountPath) }}
{{- end -}}
{{- with $config.invalidation }}{{ if not (kindIs "invalid" .requests_per_second) }}
{{- $_ := set . "requests_per_second" (include "cloudfront-watcher.podRate" $ | float64) }}
{{- end }}{{ end -}}
# Rendered by the cloudfront-watcher chart from .Values.config; edit the values, not this file.
{{- range $section := list "watcher" "http" "aws" "sqs" "poll" "invalidation" "notify" }}
{{- with (get $config $section) }}

[{{ $section }}]
{{- include "cloudfront-watcher.tomlKeys" . }}
{{- end }}
{{- end }}
{{- range $config.sites }}

[[sites]]
{{- include "cloudfront-watcher.tomlKeys" . }}
{{- end }}
{{ end }}

{{/* Names of the env vars given through extraEnv, to tell a missing value from one set in the environment. */}}
{{- define "cloudfront-watcher.envNames" -}}
{{- range .Values.extraEnv }}{{ .name }} {{ end }}
{{- end }}

{{/* Fail at install time, with one clear line, where the watcher would exit 2 at start. */}}
{{- define "cloudfront-watcher.validate" -}}
{{- $env := splitList " " (include "cloudfront-watcher.envNames" .) }}
{{- $envFrom := or (gt (len .Values.extraEnvFrom) 0) .Values.existingConfigMap .Values.existingSecret }}
{{- if and .Values.existingConfigMap .Values.existingSecret }}
{{- fail "existingConfigMap and existingSecret both set: the config comes from one of them" }}
{{- end }}
{{- if and (has "sqs" .Values.config.watcher.sources) (not .Values.config.sqs.queue_url) (not (has "WATCHER__SQS__QUEUE_URL" $env)) (not $envFrom) }}
{{- fail "config.sqs.queue_url is required with the \"sqs\" source (or set WATCHER__SQS__QUEUE_URL through extraEnv)" }}
{{- end }}
{{- if and (not .Values.config.sites) (not (has "WATCHER__SITES" $env)) (not $envFrom) }}
{{- fail "config.sites needs at least one entry with bucket and distribution_id (or set WATCHER__SITES through extraEnv)" }}
{{- end }}
{{- if and .Values.state.enabled (not (include "cloudfront-watcher.pollMode" .)) }}
{{- fail "state.enabled keeps the poll source's state_file: add \"poll\" to config.watcher.sources or disable it" }}
{{- end }}
{{- end }}
