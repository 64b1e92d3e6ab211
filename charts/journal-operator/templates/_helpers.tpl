{{/*
Standard helpers only: name, fullname, chart label, labels, selector labels, service account.
*/}}

{{/* The chart name, or .Values.nameOverride. */}}
{{- define "journal-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name prefix of every object. Truncated to 63 characters because some Kubernetes
name fields are limited to that (DNS-1123 labels). A release whose name already
contains the chart name is not repeated ("journal-operator", not
"journal-operator-journal-operator").
*/}}
{{- define "journal-operator.fullname" -}}
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

{{/* The helm.sh/chart label value: name-version, "+" replaced (not allowed in labels). */}}
{{- define "journal-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object the chart creates. */}}
{{- define "journal-operator.labels" -}}
helm.sh/chart: {{ include "journal-operator.chart" . }}
{{ include "journal-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: journal-platform
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the operator Pod; they never change between upgrades. */}}
{{- define "journal-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "journal-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- /*
The namespaces the operator watches, as a JSON list: [] means every namespace (clusterWide),
else watchNamespaces, or the release's own namespace when that is empty.
*/}}
{{- define "journal-operator.watchedNamespaces" -}}
{{- if .Values.clusterWide }}
{{- if .Values.watchNamespaces }}
{{- fail "clusterWide watches every namespace: leave watchNamespaces empty" }}
{{- end }}
{{- list | toJson }}
{{- else }}
{{- .Values.watchNamespaces | default (list .Release.Namespace) | toJson }}
{{- end }}
{{- end }}

{{- define "journal-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "journal-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}
