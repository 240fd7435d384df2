{{/* Names and labels. */}}
{{- define "ct.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ct.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "ct.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "ct.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "worker"). */}}
{{- define "ct.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ct.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ct.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
{{ include "ct.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: continuous-training
{{- end -}}

{{- define "ct.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ct.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ct.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{/* The port of a URL: its explicit port, else the scheme's. */}}
{{- define "ct.urlPort" -}}
{{- $u := urlParse . -}}
{{- $parts := splitList ":" $u.host -}}
{{- if gt (len $parts) 1 -}}{{ last $parts }}{{- else if eq $u.scheme "https" -}}443{{- else -}}80{{- end -}}
{{- end -}}

{{/* The port of a host:port address. */}}
{{- define "ct.addressPort" -}}
{{- last (splitList ":" .) -}}
{{- end -}}

{{/* What values.schema.json cannot say clearly: settings that exclude or need each other. */}}
{{- define "ct.validate" -}}
{{- $t := .Values.temporal -}}
{{- if and $t.envconfig.secretName $t.apiKey.secretName -}}
{{- fail "temporal.apiKey.secretName must be empty with temporal.envconfig.secretName: the profile holds the API key" -}}
{{- end -}}
{{- if and $t.tls.secretName (ne (empty $t.tls.certKey) (empty $t.tls.keyKey)) -}}
{{- fail "temporal.tls.certKey and temporal.tls.keyKey go together (mTLS): set both, or neither" -}}
{{- end -}}
{{- end -}}

{{/* Where the Secrets and the ConfigMap are mounted. */}}
{{- define "ct.temporalTlsDir" -}}/etc/continuous-training/temporal-tls{{- end -}}
{{- define "ct.envconfigDir" -}}/etc/continuous-training/temporal-envconfig{{- end -}}
{{- define "ct.caBundleDir" -}}/etc/continuous-training/ca{{- end -}}
{{- define "ct.pipelinesDir" -}}/etc/continuous-training/pipelines{{- end -}}

{{/* A secretKeyRef environment variable: (list "NAME" secretName key). */}}
{{- define "ct.secretEnv" -}}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ index . 1 | quote }}
      key: {{ index . 2 | quote }}
{{- end -}}

{{/*
The Temporal connection (worker/temporal-config.ts, Temporal's standard variables), shared by the worker and
the watcher: a profile of a Temporal config file from a Secret, or the values with TLS files and the API key from Secrets.
*/}}
{{- define "ct.temporalEnv" -}}
{{- $t := .Values.temporal -}}
- name: CT_TASK_QUEUE
  value: {{ $t.taskQueue | quote }}
{{- if $t.envconfig.secretName }}
- name: TEMPORAL_CONFIG_FILE
  value: {{ printf "%s/%s" (include "ct.envconfigDir" .) $t.envconfig.key | quote }}
- name: TEMPORAL_PROFILE
  value: {{ $t.envconfig.profile | quote }}
{{- else }}
- name: TEMPORAL_ADDRESS
  value: {{ $t.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ $t.namespace | quote }}
{{- if $t.tls.enabled }}
- name: TEMPORAL_TLS
  value: "true"
{{- end }}
{{- if $t.tls.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ $t.tls.serverName | quote }}
{{- end }}
{{- if $t.tls.secretName }}
{{- if $t.tls.caKey }}
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: {{ printf "%s/%s" (include "ct.temporalTlsDir" .) $t.tls.caKey | quote }}
{{- end }}
{{- if and $t.tls.certKey $t.tls.keyKey }}
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: {{ printf "%s/%s" (include "ct.temporalTlsDir" .) $t.tls.certKey | quote }}
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: {{ printf "%s/%s" (include "ct.temporalTlsDir" .) $t.tls.keyKey | quote }}
{{- end }}
{{- end }}
{{- if $t.apiKey.secretName }}
{{ include "ct.secretEnv" (list "TEMPORAL_API_KEY" $t.apiKey.secretName $t.apiKey.key) }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "ct.pachydermEnv" -}}
- name: PACHD_URL
  value: {{ .Values.pachyderm.url | quote }}
{{- if .Values.pachyderm.tokenSecretName }}
{{ include "ct.secretEnv" (list "PACHD_TOKEN" .Values.pachyderm.tokenSecretName .Values.pachyderm.tokenKey) }}
{{- end }}
{{- end -}}

{{- define "ct.temporalVolumes" -}}
{{- $t := .Values.temporal -}}
{{- if $t.envconfig.secretName }}
- name: temporal-envconfig
  secret:
    secretName: {{ $t.envconfig.secretName | quote }}
{{- end }}
{{- if $t.tls.secretName }}
- name: temporal-tls
  secret:
    secretName: {{ $t.tls.secretName | quote }}
{{- end }}
{{- end -}}

{{- define "ct.temporalVolumeMounts" -}}
{{- $t := .Values.temporal -}}
{{- if $t.envconfig.secretName }}
- name: temporal-envconfig
  mountPath: {{ include "ct.envconfigDir" . }}
  readOnly: true
{{- end }}
{{- if $t.tls.secretName }}
- name: temporal-tls
  mountPath: {{ include "ct.temporalTlsDir" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* Non-root (the image's node user), nothing writable but the mounted emptyDirs, no capabilities. */}}
{{- define "ct.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "ct.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
{{- end -}}

{{/* Liveness and readiness on the health server (worker/health-server.ts). */}}
{{- define "ct.probes" -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: health
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: health
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
{{- end -}}
