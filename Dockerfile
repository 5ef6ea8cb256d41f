FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY dialer ./dialer
RUN pip install --no-cache-dir . && useradd --system --uid 1000 dialer
COPY --chown=dialer:dialer campaigns ./campaigns
USER dialer
ENTRYPOINT ["dialer"]
CMD ["--help"]
