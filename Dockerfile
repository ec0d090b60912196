# syntax=docker/dockerfile:1
# One image for every Sepal app; choose the app with SEPAL_APP (data | registry | trainer | inference).

FROM node:20-bookworm-slim AS build
WORKDIR /app
# The image's npm 10 ignores package.json's allowScripts: skip onnxruntime-node's CUDA download this way.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
COPY bench ./bench
COPY scripts ./scripts
RUN npm run build

FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY data ./data
RUN mkdir -p /app/models /app/.sepal && chown -R node:node /app/models /app/.sepal
USER node
ENV SEPAL_APP=inference
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=5 \
  CMD node -e "const p={data:3001,registry:3002,trainer:3003,inference:3000,console:8080}[process.env.SEPAL_APP];fetch('http://127.0.0.1:'+p+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["sh", "-c", "exec node dist/apps/${SEPAL_APP}/src/main.js"]
