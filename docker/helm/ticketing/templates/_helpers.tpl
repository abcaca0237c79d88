{{/* Names and labels. */}}
{{- define "ticketing.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ticketing.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* A component's selector: dict "root" $ "component" "tickets-worker" */}}
{{- define "ticketing.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ticketing.image" -}}
{{ printf "%s:%s" .Values.image.repository .Values.image.tag | quote }}
{{- end -}}

{{- define "ticketing.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "ticketing.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* The pod-wide part every pod shares. */}}
{{- define "ticketing.podCommon" -}}
automountServiceAccountToken: false
securityContext:
  {{- include "ticketing.podSecurityContext" . | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Paths where Secrets are mounted (the settings take a PEM or a path to one). */}}
{{- define "ticketing.jwtPublicKeyPath" -}}
/etc/ticketing/jwt-public/{{ .Values.jwt.publicKeySecret.key }}
{{- end -}}
{{- define "ticketing.jwtPrivateKeyPath" -}}
/etc/ticketing/jwt-private/{{ .Values.jwt.privateKeySecret.key }}
{{- end -}}

{{/* Environment of a service's process (an API, a worker or a job), beyond the
     ConfigMap: dict "root" $ "service" "tickets" "temporal" true "database" true
     "stripe" false "private" false "inline" false. "inline" writes the ConfigMap's
     settings into the env (hook Jobs run before the ConfigMap exists). */}}
{{- define "ticketing.serviceEnv" -}}
{{- $v := .root.Values -}}
{{- if .inline }}
{{- include "ticketing.settingsEnv" .root }}
{{- end }}
- name: JWT_PUBLIC_KEY
  value: {{ include "ticketing.jwtPublicKeyPath" .root | quote }}
{{- if .private }}
- name: JWT_PRIVATE_KEY
  value: {{ include "ticketing.jwtPrivateKeyPath" .root | quote }}
{{- end }}
{{- if .database }}
- name: {{ printf "%s_DATABASE_URL" (upper .service) }}
  valueFrom:
    secretKeyRef:
      name: {{ $v.postgresql.urlSecret.name }}
      key: {{ index $v.postgresql.urlSecret.keys .service }}
{{- end }}
{{- if and .nats $v.nats.urlSecret.name }}
- name: NATS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.nats.urlSecret.name }}
      key: {{ $v.nats.urlSecret.key }}
{{- end }}
{{- with $v.nats.filesSecret }}{{ if and $.nats .name }}
{{- if .credentialsKey }}
- name: NATS_CREDENTIALS
  value: /etc/ticketing/nats/{{ .credentialsKey }}
{{- end }}
{{- if .caKey }}
- name: NATS_TLS_CA
  value: /etc/ticketing/nats/{{ .caKey }}
{{- end }}
{{- if .certKey }}
- name: NATS_TLS_CERT
  value: /etc/ticketing/nats/{{ .certKey }}
- name: NATS_TLS_KEY
  value: /etc/ticketing/nats/{{ .keyKey }}
{{- end }}
{{- end }}{{ end }}
{{- if .temporal }}
- name: PAYLOAD_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ $v.payloadKeys.secret.name }}
      key: {{ $v.payloadKeys.secret.key }}
{{- with $v.temporal.apiKeySecret }}{{ if .name }}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key }}
{{- end }}{{ end }}
{{- if $v.temporal.tls.clientCertSecret }}
- name: TEMPORAL_TLS_CERT
  value: /etc/ticketing/temporal-tls/{{ $v.temporal.tls.certKey }}
- name: TEMPORAL_TLS_KEY
  value: /etc/ticketing/temporal-tls/{{ $v.temporal.tls.keyKey }}
{{- end }}
{{- if $v.temporal.tls.caSecret }}
- name: TEMPORAL_TLS_CA
  value: /etc/ticketing/temporal-ca/{{ $v.temporal.tls.caKey }}
{{- end }}
{{- end }}
{{- with $v.throttleStore.urlSecret }}{{ if .name }}
- name: THROTTLE_STORAGE
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key }}
{{- end }}{{ end }}
{{- if .entryCodes }}
- name: ENTRY_CODE_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ $v.entryCodes.keysSecret.name }}
      key: {{ $v.entryCodes.keysSecret.key }}
{{- with $v.entryCodes.resalePriceCapPercent | toString }}
- name: RESALE_PRICE_CAP_PERCENT
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- if .smtp }}
- name: SMTP_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.smtp.urlSecret.name }}
      key: {{ $v.smtp.urlSecret.key }}
- name: MAIL_FROM
  value: {{ $v.smtp.mailFrom | quote }}
- name: PUBLIC_URL
  value: {{ $v.smtp.publicUrl | default (printf "https://%s" $v.ingress.host) | quote }}
{{- end }}
{{- if .stripe }}
- name: STRIPE_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $v.stripe.secretKeySecret.name }}
      key: {{ $v.stripe.secretKeySecret.key }}
- name: STRIPE_WEBHOOK_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $v.stripe.webhookSecretSecret.name }}
      key: {{ $v.stripe.webhookSecretSecret.key }}
{{- end }}
{{- end -}}

{{/* The settings every service reads, as env entries (the ConfigMap holds the same). */}}
{{- define "ticketing.settingsEnv" -}}
{{- range $name, $value := (include "ticketing.settings" . | fromYaml) }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* TRUSTED_PROXIES: the ingress controller's and the web shop's pod network(s). */}}
{{- define "ticketing.trustedProxies" -}}
{{- if or (has "*" .Values.trustedProxies) (not .Values.trustedProxies) -}}
{{- fail "trustedProxies: name the pod network(s) of the ingress controller and the web shop (never *)" -}}
{{- end -}}
{{ join "," .Values.trustedProxies }}
{{- end -}}

{{- define "ticketing.settings" -}}
{{- $v := .Values -}}
{{- if not (or $v.throttleStore.redis.enabled $v.throttleStore.urlSecret.name) }}
{{- fail "throttleStore: run the chart's Redis or name yours (urlSecret): replicas must share their limits" }}
{{- end }}
ENVIRONMENT: {{ $v.environment | quote }}
TRUSTED_PROXIES: {{ include "ticketing.trustedProxies" . | quote }}
DATA_DIR: /tmp/ticketing
MIGRATE_ON_START: "false"
{{- if not $v.nats.urlSecret.name }}
NATS_URL: {{ $v.nats.url | quote }}
{{- end }}
EVENTS_STREAM: {{ $v.nats.eventsStream | quote }}
TEMPORAL_ADDRESS: {{ $v.temporal.address | quote }}
TEMPORAL_NAMESPACE: {{ $v.temporal.namespace | quote }}
TEMPORAL_TLS: {{ $v.temporal.tls.enabled | toString | quote }}
{{- with $v.temporal.tls.serverName }}
TEMPORAL_TLS_SERVER_NAME: {{ . | quote }}
{{- end }}
{{- if and $v.throttleStore.redis.enabled (not $v.throttleStore.urlSecret.name) }}
THROTTLE_STORAGE: {{ printf "redis://%s-redis:6379/0" (include "ticketing.fullname" .) | quote }}
{{- end }}
WORKER_HEALTH_HOST: "0.0.0.0"
WORKER_HEALTH_PORT: {{ $v.workers.healthPort | toString | quote }}
LOG_LEVEL: {{ $v.observability.logLevel | quote }}
{{- with $v.observability.otlpEndpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
ORDER_EXPIRATION_SECONDS: {{ $v.settings.orderExpirationSeconds | toString | quote }}
JWT_EXPIRES_SECONDS: {{ $v.settings.jwtExpiresSeconds | toString | quote }}
{{- with $v.settings.allowedOrigins }}
ALLOWED_ORIGINS: {{ . | quote }}
{{- end }}
{{- range $name, $value := $v.settings.extra }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Volumes and mounts of a service's pod: dict "root" $ "private" bool "temporal" bool */}}
{{- define "ticketing.volumes" -}}
{{- $v := .root.Values -}}
- name: tmp
  emptyDir: {}
- name: jwt-public
  secret:
    secretName: {{ $v.jwt.publicKeySecret.name }}
    items:
      - key: {{ $v.jwt.publicKeySecret.key }}
        path: {{ $v.jwt.publicKeySecret.key }}
{{- if .private }}
- name: jwt-private
  secret:
    secretName: {{ $v.jwt.privateKeySecret.name }}
    defaultMode: 0400
    items:
      - key: {{ $v.jwt.privateKeySecret.key }}
        path: {{ $v.jwt.privateKeySecret.key }}
{{- end }}
{{- if and .temporal $v.temporal.tls.clientCertSecret }}
- name: temporal-tls
  secret:
    secretName: {{ $v.temporal.tls.clientCertSecret }}
    defaultMode: 0400
    items:
      - key: {{ $v.temporal.tls.certKey }}
        path: {{ $v.temporal.tls.certKey }}
      - key: {{ $v.temporal.tls.keyKey }}
        path: {{ $v.temporal.tls.keyKey }}
{{- end }}
{{- with $v.nats.filesSecret }}{{ if .name }}
- name: nats-files
  secret:
    secretName: {{ .name }}
    defaultMode: 0400
    items:
      {{- range $key := list .credentialsKey .caKey .certKey .keyKey }}
      {{- if $key }}
      - key: {{ $key }}
        path: {{ $key }}
      {{- end }}
      {{- end }}
{{- end }}{{ end }}
{{- if and .temporal $v.temporal.tls.caSecret }}
- name: temporal-ca
  secret:
    secretName: {{ $v.temporal.tls.caSecret }}
    items:
      - key: {{ $v.temporal.tls.caKey }}
        path: {{ $v.temporal.tls.caKey }}
{{- end }}
{{- end -}}

{{- define "ticketing.volumeMounts" -}}
{{- $v := .root.Values -}}
- name: tmp
  mountPath: /tmp
- name: jwt-public
  mountPath: /etc/ticketing/jwt-public
  readOnly: true
{{- if .private }}
- name: jwt-private
  mountPath: /etc/ticketing/jwt-private
  readOnly: true
{{- end }}
{{- if and .temporal $v.temporal.tls.clientCertSecret }}
- name: temporal-tls
  mountPath: /etc/ticketing/temporal-tls
  readOnly: true
{{- end }}
{{- if and .temporal $v.temporal.tls.caSecret }}
- name: temporal-ca
  mountPath: /etc/ticketing/temporal-ca
  readOnly: true
{{- end }}
{{- if $v.nats.filesSecret.name }}
- name: nats-files
  mountPath: /etc/ticketing/nats
  readOnly: true
{{- end }}
{{- end -}}

{{/* The web shop's view of the API: its own value, or the ingress's address. */}}
{{- define "ticketing.webApiUrl" -}}
{{- if .Values.web.apiUrl -}}
{{ .Values.web.apiUrl }}
{{- else -}}
{{ ternary "https" "http" .Values.ingress.tls.enabled }}://{{ .Values.ingress.host }}
{{- end -}}
{{- end -}}

{{/* Each API path prefix and the service that serves it (the ingress's and the shop's). */}}
{{- define "ticketing.apiPrefixes" -}}
/api/users: auth
/api/tickets: tickets
/api/events: tickets
/api/orders: orders
/api/payments: payments
/api/notifications: notifications
{{- end -}}

{{/* The shop's way to each service's API: its Service, not the ingress (JSON). */}}
{{- define "ticketing.webApiRoutes" -}}
{{- $fullname := include "ticketing.fullname" . -}}
{{- $routes := dict -}}
{{- range $prefix, $service := (include "ticketing.apiPrefixes" . | fromYaml) }}
{{- $_ := set $routes $prefix (printf "http://%s-%s" $fullname $service) }}
{{- end -}}
{{ toJson $routes }}
{{- end -}}

{{/* The four services' APIs: name, whether it signs tokens, whether it uses Temporal. */}}
{{- define "ticketing.apiServices" -}}
auth: {private: true, temporal: false, stripe: false}
tickets: {private: false, temporal: true, stripe: false}
orders: {private: false, temporal: true, stripe: false}
payments: {private: false, temporal: true, stripe: true}
notifications: {private: false, temporal: false, stripe: false}
{{- end -}}
