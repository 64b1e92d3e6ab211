{{/* Standard helpers only: name, fullname, chart label, labels. */}}

{{- define "journal-platform.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The JournalPlatform's name: .Values.name, or the release name (63 characters at most). */}}
{{- define "journal-platform.fullname" -}}
{{- default .Release.Name .Values.name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "journal-platform.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "journal-platform.labels" -}}
helm.sh/chart: {{ include "journal-platform.chart" . }}
app.kubernetes.io/name: {{ include "journal-platform.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.version | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/component: platform
app.kubernetes.io/part-of: journal-platform
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
